using System.Collections.Concurrent;

namespace IdentityHub.Server.Factors.Sms;

/// <summary>
/// Development only: keeps the last 500 messages in memory instead of sending them, readable at
/// GET /dev/sms?phone=... (mapped only in Development) so that a developer or a test can read a code.
/// </summary>
public sealed partial class DevelopmentSmsSender(TimeProvider clock, ILogger<DevelopmentSmsSender> logger) : ISmsSender
{
    private const int Capacity = 500;
    private readonly ConcurrentQueue<OutboxEntry> _outbox = new();

    public sealed record OutboxEntry(string PhoneNumber, string Text, DateTimeOffset SentAt);

    public Task SendAsync(SmsMessage message, CancellationToken cancellationToken)
    {
        _outbox.Enqueue(new OutboxEntry(message.PhoneNumber, message.Text, clock.GetUtcNow()));
        while (_outbox.Count > Capacity && _outbox.TryDequeue(out _))
        {
        }

        // The number is masked and the text (which may hold a code) is not logged.
        Queued(logger, MaskedPhone.Of(message.PhoneNumber));
        return Task.CompletedTask;
    }

    /// <summary>Messages to <paramref name="phoneNumber"/>, newest first.</summary>
    public IReadOnlyList<OutboxEntry> MessagesTo(string phoneNumber) =>
        _outbox.Where(m => m.PhoneNumber == phoneNumber).Reverse().ToList();

    [LoggerMessage(EventId = 9100, Level = LogLevel.Information, Message = "SMS to {PhoneNumber} kept in the development outbox (/dev/sms).")]
    private static partial void Queued(ILogger logger, string phoneNumber);
}
