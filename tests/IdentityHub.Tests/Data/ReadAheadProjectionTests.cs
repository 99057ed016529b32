using System.Linq.Expressions;
using IdentityHub.Server.Data;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.RealName;
using IdentityHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Data;

/// <summary>
/// The sign-in's read-ahead (AccountLookup.ReadAhead, with the person) builds the real-name record and the evidence in its
/// projection, column by column, and the authorize request answered after the sign-in takes them instead of reading the
/// person again: a column added to either entity and not to the projection would reach the ID token as its default.
/// This compares the projection's assignments with the model's mapped properties, on both providers' models.
/// </summary>
public sealed class ReadAheadProjectionTests
{
    [Theory]
    [InlineData("Sqlite")]
    [InlineData("Postgres")]
    public async Task ReadAhead_WithPerson_CopiesEveryMappedPropertyOfTheRecordAndTheEvidence(string provider)
    {
        await using var server = await IdentityHubServer.StartAsync(provider);
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        var expression = AccountLookup.ReadAhead(db, db.Users.Where(u => u.Id == "none"), withPerson: true).Expression;
        var assigned = new Assignments();
        assigned.Visit(expression);
        foreach (var type in new[] { typeof(RealNameRecord), typeof(VerificationEvidence) })
        {
            var mapped = db.Model.FindEntityType(type)!.GetProperties().Where(p => !p.IsShadowProperty()).Select(p => p.Name);
            Assert.True(assigned.Members.TryGetValue(type, out var members), $"No projection of {type.Name} in the read-ahead.");
            Assert.Equal(mapped.Order(StringComparer.Ordinal), members.Order(StringComparer.Ordinal));
        }
    }

    /// <summary>The members each <c>new T { ... }</c> of the expression assigns, per type.</summary>
    private sealed class Assignments : ExpressionVisitor
    {
        public Dictionary<Type, List<string>> Members { get; } = [];

        protected override Expression VisitMemberInit(MemberInitExpression node)
        {
            Members[node.Type] = [.. node.Bindings.Select(b => b.Member.Name)];
            return base.VisitMemberInit(node);
        }
    }
}
