namespace IdentityHub.Server.Factors.Sms;

/// <summary>Sms:Sender=None: SMS is not set up on this installation. Nothing is sent; each attempt is logged.</summary>
public sealed partial class NoSmsSender(ILogger<NoSmsSender> logger) : ISmsSender
{
    public Task SendAsync(SmsMessage message, CancellationToken cancellationToken)
    {
        NotSent(logger);
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 9101, Level = LogLevel.Warning, Message = "An SMS was not sent: Sms:Sender is None. Set Sms:Sender=HttpGateway and Sms:Gateway:Url.")]
    private static partial void NotSent(ILogger logger);
}
