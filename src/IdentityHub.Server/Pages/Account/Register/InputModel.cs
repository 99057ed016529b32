namespace IdentityHub.Server.Pages.Account.Register;

public sealed class InputModel
{
    public string? Mobile { get; set; }

    /// <summary>Names the SMS code sent (SmsChallenges); the code itself never leaves the server except by SMS.</summary>
    public string? ChallengeId { get; set; }

    public string? Code { get; set; }

    public string? Password { get; set; }

    public string? ConfirmPassword { get; set; }

    public string? DisplayName { get; set; }
}
