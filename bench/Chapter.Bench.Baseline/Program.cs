using JasperFx;
using JasperFx.Events;
using Marten;
using JasperFx.Events.Projections;
using JasperFx.MultiTenancy;
using Npgsql;
using Wolverine;
using Wolverine.Http;
using Wolverine.Marten;

// Started by `bench http` as a process of its own, beside Chapter's service, over a database of its own:
//   POST /bare/npgsql/chapters/{chapterId}/referrals     ASP.NET Core minimal API, one Npgsql INSERT of the body
//   POST /bare/wolverine/chapters/{chapterId}/referrals  WolverineFx.Http, a Marten stream started with an inline snapshot
// Both take the give's JSON body and answer 201, as Chapter's give does; neither checks a token or a rule.
var builder = WebApplication.CreateBuilder(args);
var connectionString = builder.Configuration.GetConnectionString("Baseline")
    ?? throw new InvalidOperationException("Set ConnectionStrings__Baseline.");
var dataSource = new NpgsqlDataSourceBuilder(connectionString) { ConnectionStringBuilder = { MaxAutoPrepare = 50 } }.Build();
builder.Services.AddSingleton(dataSource);
builder.Services.AddMarten(options =>
    {
        // As Chapter's store is set up: string stream keys, one chapter per tenant, Quick appends, a view in the append's transaction.
        options.Connection(dataSource);
        options.DatabaseSchemaName = "bare";
        options.Events.StreamIdentity = StreamIdentity.AsString;
        options.Events.TenancyStyle = TenancyStyle.Conjoined;
        options.Policies.AllDocumentsAreMultiTenanted();
        options.Events.AppendMode = EventAppendMode.Quick;
        options.Projections.Snapshot<BareReferral>(SnapshotLifecycle.Inline);
    })
    .UseLightweightSessions()
    .IntegrateWithWolverine();
builder.Host.UseWolverine(options =>
{
    options.Discovery.DisableConventionalDiscovery();
    options.Policies.AutoApplyTransactions();
});
builder.Services.AddWolverineHttp();
builder.Logging.SetMinimumLevel(LogLevel.Warning);

var app = builder.Build();
await app.Services.GetRequiredService<IDocumentStore>().Storage.ApplyAllConfiguredChangesToDatabaseAsync();
await using (var table = dataSource.CreateCommand(
    "CREATE TABLE IF NOT EXISTS bare_gives (chapter_id text NOT NULL, id uuid NOT NULL, data jsonb NOT NULL, PRIMARY KEY (chapter_id, id))"))
    await table.ExecuteNonQueryAsync();

app.MapPost("/bare/npgsql/chapters/{chapterId}/referrals", async (string chapterId, GiveRequest body, NpgsqlDataSource db) =>
{
    await using var insert = db.CreateCommand("INSERT INTO bare_gives (chapter_id, id, data) VALUES ($1, $2, $3::jsonb)");
    insert.Parameters.Add(new NpgsqlParameter { Value = chapterId });
    insert.Parameters.Add(new NpgsqlParameter { Value = body.ReferralId });
    insert.Parameters.Add(new NpgsqlParameter { Value = System.Text.Json.JsonSerializer.Serialize(body) });
    await insert.ExecuteNonQueryAsync();
    return Results.Created($"/bare/npgsql/chapters/{chapterId}/referrals/{body.ReferralId}", body);
});
app.MapWolverineEndpoints(options => options.TenantId.IsRouteArgumentNamed("chapterId"));
app.MapGet("/health", () => "ok");
await app.RunAsync();

public sealed record ProspectRequest(string Name, string? Email, string? Phone, string? Company, bool Consent);

public sealed record GiveRequest(Guid ReferralId, Guid GiverId, Guid ReceiverId, ProspectRequest Prospect, string Need, string Temperature, string Language);

public sealed record BareGiven(Guid ReferralId, Guid GiverId, Guid ReceiverId, ProspectRequest Prospect, string Need, string Temperature, string Language);

public sealed record BareReferral(string Id, Guid GiverId, Guid ReceiverId, string Need)
{
    public static BareReferral Create(IEvent<BareGiven> given) => new(given.StreamKey!, given.Data.GiverId, given.Data.ReceiverId, given.Data.Need);
}

public static class BareGiveEndpoint
{
    [WolverinePost("/bare/wolverine/chapters/{chapterId}/referrals")]
    public static (CreationResponse, IStartStream) Post(GiveRequest body, string chapterId) =>
        (new CreationResponse($"/bare/wolverine/chapters/{chapterId}/referrals/{body.ReferralId}"),
            MartenOps.StartStream<BareReferral>($"referral-{body.ReferralId}",
                new BareGiven(body.ReferralId, body.GiverId, body.ReceiverId, body.Prospect, body.Need, body.Temperature, body.Language)));
}
