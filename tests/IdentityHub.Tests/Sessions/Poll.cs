namespace IdentityHub.Tests.Sessions;

/// <summary>
/// Waits for something asynchronous (a back-channel delivery) by checking it again and again until a generous
/// deadline. The deadline only bounds a failing test; no test asserts how fast anything happened.
/// </summary>
public static class Poll
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    public static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Still waiting, after {Deadline.TotalSeconds} s, for {what}.");
            }

            // Between checks only: the wait ends as soon as the condition holds.
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
    }
}
