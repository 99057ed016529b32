using System.Collections.Concurrent;
using System.Text.Json;

namespace IdentityHub.VerificationSimulator;

public sealed record Person(string Name, string IdNumber, string? Mobile);

public sealed record Enterprise(string CreditCode, string Name, string LegalRepresentative, string OperatingStatus = "存续");

/// <summary>
/// The simulated authorities' records: the seed (seed.json, embedded) plus whatever was added through
/// POST /simulator/people and /simulator/enterprises. Every call is counted per idempotency key.
/// </summary>
public sealed class SimulatorData
{
    private readonly ConcurrentDictionary<string, Person> _people = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Enterprise> _enterprises = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);

    private sealed record Seed(List<Person> People, List<Enterprise> Enterprises);

    public SimulatorData()
    {
        using var stream = typeof(SimulatorData).Assembly.GetManifestResourceStream("IdentityHub.VerificationSimulator.seed.json")!;
        var seed = JsonSerializer.Deserialize<Seed>(stream, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        seed.People.ForEach(Add);
        seed.Enterprises.ForEach(Add);
    }

    public void Add(Person person) => _people[person.IdNumber] = person;

    public void Add(Enterprise enterprise) => _enterprises[enterprise.CreditCode] = enterprise;

    public Person? FindPerson(string idNumber) => _people.GetValueOrDefault(idNumber);

    public Enterprise? FindEnterprise(string creditCode) => _enterprises.GetValueOrDefault(creditCode);

    /// <summary>Counts a call; returns how many calls (this one included) carried the key to this endpoint.</summary>
    public int CountCall(string endpoint, string? idempotencyKey) =>
        _calls.AddOrUpdate(endpoint + "|" + (idempotencyKey ?? ""), 1, (_, n) => n + 1);

    public int Calls(string endpoint, string idempotencyKey) => _calls.GetValueOrDefault(endpoint + "|" + idempotencyKey);

    public int Calls(string endpoint) => _calls.Where(c => c.Key.StartsWith(endpoint + "|", StringComparison.Ordinal)).Sum(c => c.Value);
}
