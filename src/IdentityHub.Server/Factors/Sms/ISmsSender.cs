namespace IdentityHub.Server.Factors.Sms;

/// <summary>A text message to a mainland China mobile number (normalised, 11 digits).</summary>
public sealed record SmsMessage(string PhoneNumber, string Text);

/// <summary>Sends text messages. One class per provider; <see cref="SmsOptions.Sender"/> picks one.</summary>
public interface ISmsSender
{
    Task SendAsync(SmsMessage message, CancellationToken cancellationToken);
}

public static class MaskedPhone
{
    /// <summary>138****8000: enough for a person to recognise the number, not enough to collect it.</summary>
    public static string Of(string? phoneNumber) =>
        phoneNumber is { Length: 11 } ? phoneNumber[..3] + "****" + phoneNumber[7..] : "***";
}
