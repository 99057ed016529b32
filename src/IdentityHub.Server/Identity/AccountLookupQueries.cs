using System.Linq.Expressions;
using System.Reflection;
using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Identity;

/// <summary>
/// The password form's read-ahead (<see cref="AccountLookup"/>), by mobile number or by user name, as EF compiled queries:
/// its expression tree (the account, its claim rows' three <c>UNION ALL</c> arms, the known-device <c>EXISTS</c>; with
/// Accounts:AuthorizeReusesSignInAccount the real-name record and the evidence too) was
/// built, parameterised and looked up in EF Core's query cache on every sign-in, ~2.5% of the server's non-hashing CPU
/// per flow (docs/benchmarks.md, "Sign-in, twelfth session"). The same query, built by the same code
/// (<see cref="AccountLookup.ReadAhead"/>), once per key: the sign-in name it is built with is a placeholder, replaced by
/// the compiled query's parameter. A singleton, as <see cref="Oidc.GrantSubjectQueries"/>: a compiled query belongs to
/// the model it first ran against, and it is first built with a request's context.
/// </summary>
public sealed class AccountLookupQueries
{
    /// <summary>Which column a sign-in name is looked up in.</summary>
    public sealed class Key(Expression<Func<ApplicationUser, Placeholder, bool>> match)
    {
        public Expression<Func<ApplicationUser, Placeholder, bool>> Match { get; } = match;
    }

    /// <summary>Stands for the sign-in name while the query is built.</summary>
    public sealed class Placeholder
    {
        public string Value { get; init; } = "";
    }

    public static readonly Key ByMobile = new((u, name) => u.PhoneNumber == name.Value);

    public static readonly Key ByUserName = new((u, name) => u.NormalizedUserName == name.Value);

    private static readonly PropertyInfo PlaceholderValue = typeof(Placeholder).GetProperty(nameof(Placeholder.Value))!;

    /// <summary>
    /// By key (mobile, user name) and whether the person (real-name record, evidence) is read with the account: four
    /// compiled queries at most.
    /// </summary>
    private readonly Func<IdentityHubDbContext, string, IAsyncEnumerable<AccountLookup.ReadAheadRow>>?[] _compiled = new Func<IdentityHubDbContext, string, IAsyncEnumerable<AccountLookup.ReadAheadRow>>?[4];

    /// <summary>The accounts whose <paramref name="key"/> column is <paramref name="value"/> (at most one: unique indexes).</summary>
    public static IQueryable<ApplicationUser> Accounts(IdentityHubDbContext db, Key key, string value)
    {
        var placeholder = new Placeholder { Value = value };
        return db.Users.Where(Bind(key, Expression.Constant(placeholder)));
    }

    /// <summary>The read-ahead's rows for the account whose <paramref name="key"/> column is <paramref name="value"/>.</summary>
    internal IAsyncEnumerable<AccountLookup.ReadAheadRow> ReadAhead(IdentityHubDbContext db, Key key, string value, bool withPerson)
    {
        // A race compiles twice and keeps either: the same query.
        var index = (ReferenceEquals(key, ByMobile) ? 0 : 2) + (withPerson ? 1 : 0);
        var query = _compiled[index] ??= Compile(db, key, withPerson);
        return query(db, value);
    }

    private static Func<IdentityHubDbContext, string, IAsyncEnumerable<AccountLookup.ReadAheadRow>> Compile(IdentityHubDbContext db, Key key,
        bool withPerson)
    {
        var name = Expression.Parameter(typeof(string), "signInName");
        var accounts = db.Users.Where(Bind(key, name));
        // The claim rows' arms hold the account query in a closure (AccountClaimRows.Of's userIds): inlined here, so that
        // the compiled query's parameter is seen wherever it is used.
        var body = new QueryableInliner().Visit(AccountLookup.ReadAhead(db, accounts, withPerson).Expression);
        return EF.CompileAsyncQuery(Expression.Lambda<Func<IdentityHubDbContext, string, IQueryable<AccountLookup.ReadAheadRow>>>(
            body, Expression.Parameter(typeof(IdentityHubDbContext), "db"), name));
    }

    /// <summary><paramref name="key"/>'s predicate with the sign-in name given by <paramref name="name"/>.</summary>
    private static Expression<Func<ApplicationUser, bool>> Bind(Key key, Expression name)
    {
        var user = key.Match.Parameters[0];
        var body = new PlaceholderReplacer(key.Match.Parameters[1], name).Visit(key.Match.Body);
        return Expression.Lambda<Func<ApplicationUser, bool>>(body, user);
    }

    private sealed class PlaceholderReplacer(ParameterExpression placeholder, Expression name) : ExpressionVisitor
    {
        protected override Expression VisitMember(MemberExpression node) =>
            node.Member == PlaceholderValue && node.Expression == placeholder
                ? name.Type == typeof(string) ? name : Expression.Property(name, PlaceholderValue)
                : base.VisitMember(node);
    }

    /// <summary>Replaces a captured query (a closure's field holding an <see cref="IQueryable"/>) by its expression.</summary>
    private sealed class QueryableInliner : ExpressionVisitor
    {
        protected override Expression VisitMember(MemberExpression node) =>
            node is { Expression: ConstantExpression { Value: { } closure }, Member: FieldInfo field }
            && typeof(IQueryable).IsAssignableFrom(field.FieldType) && field.GetValue(closure) is IQueryable query
                ? Visit(query.Expression)
                : base.VisitMember(node);
    }
}
