using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace IdentityHub.Tests.Infrastructure;

/// <summary>
/// An EF Core command interceptor (added to a test server through its services as an <c>IInterceptor</c>) that sees every
/// command before it executes, whichever way EF Core sends it (reader, non-query, scalar; synchronous or not): to record
/// commands, or to make one fail.
/// </summary>
public abstract class CommandObserver : DbCommandInterceptor
{
    /// <summary>Called before each command executes; an exception thrown here is the command's.</summary>
    protected abstract void Observe(DbCommand command);

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        Observe(command);
        return result;
    }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Observe(command);
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        Observe(command);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Observe(command);
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result)
    {
        Observe(command);
        return result;
    }

    public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        Observe(command);
        return ValueTask.FromResult(result);
    }
}
