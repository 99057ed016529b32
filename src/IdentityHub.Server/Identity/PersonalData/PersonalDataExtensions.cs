using System.Text.RegularExpressions;

namespace IdentityHub.Server.Identity.PersonalData;

public static partial class PersonalDataExtensions
{
    public static WebApplicationBuilder AddIdentityHubPersonalData(this WebApplicationBuilder builder)
    {
        var development = builder.Environment.IsDevelopment();
        builder.Services.AddOptions<PersonalDataOptions>().BindConfiguration(PersonalDataOptions.Section)
            .Validate(o => development || o.Keys.Count > 0,
                "PersonalData:Keys must list at least one {Id, Key} outside Development (AES-256 keys that encrypt ID numbers at rest).")
            .Validate(o => development || o.BlindIndexKey is not null,
                "PersonalData:BlindIndexKey must be set outside Development (base64 of 32 random bytes).")
            .Validate(o => o.Keys.All(k => KeyId().IsMatch(k.Id)), "PersonalData:Keys ids must be 1-16 letters, digits or '-'.")
            .Validate(o => o.Keys.Select(k => k.Id).Distinct(StringComparer.Ordinal).Count() == o.Keys.Count, "PersonalData:Keys ids must be unique.")
            .Validate(o => o.Keys.All(k => Is32Bytes(k.Key)), "PersonalData:Keys keys must be base64 of exactly 32 bytes.")
            .Validate(o => o.BlindIndexKey is null || Is32Bytes(o.BlindIndexKey), "PersonalData:BlindIndexKey must be base64 of exactly 32 bytes.")
            .ValidateOnStart();
        builder.Services.AddSingleton<PersonalDataProtector>();
        return builder;
    }

    private static bool Is32Bytes(string value)
    {
        var buffer = new byte[64];
        return Convert.TryFromBase64String(value, buffer, out var written) && written == 32;
    }

    [GeneratedRegex("^[A-Za-z0-9-]{1,16}$")]
    private static partial Regex KeyId();
}
