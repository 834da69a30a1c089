using Chapter.Api.Access;
using Chapter.Api.Admin;
using Chapter.Api.Chapters;
using Chapter.Api.Exports;
using Chapter.Api.Feed;
using Chapter.Api.Infrastructure;
using Chapter.Api.Meetings;
using Chapter.Api.Members;
using Chapter.Api.Notifications;
using Chapter.Api.OneToOnes;
using Chapter.Api.Reciprocity;
using Chapter.Api.Reports;
using Chapter.Api.Referrals;
using Chapter.Api.Visitors;
using Chapter.Api.Web;
using Chapter.Api.Webhooks;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using JasperFx;

var builder = WebApplication.CreateBuilder(args);

await builder.AddChapterDatabaseAsync();
builder.AddChapterCommands();
builder.AddChapterNotifications();
builder.AddChapterWebhooks();
builder.AddChapterProjections();
builder.AddChapterAccess();
builder.AddChapterHardening();
builder.AddChapterTelemetry();
builder.AddChapterWeb();
builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<ProblemMapping>();
builder.AddChapterJson();
builder.AddChapterWriteEndpoints();
builder.Services.AddOpenApi(options =>
{
    // OpenAPI 3.0, not 3.1: the client generators integrators use (NSwag among them) read 3.1's nullable types as 'object'.
    options.OpenApiVersion = Microsoft.OpenApi.OpenApiSpecVersion.OpenApi3_0;
    options.AddBearerSecurity();
    options.DescribeTextAsStrings();
    options.AddExactContract();
});

var app = builder.Build();
app.UsePersonalDataFreeMartenLogging();
app.MapChapterWriteEndpoints();
app.AcceptProjectionAgentCommands();
// "codegen write", "db-patch schema.sql", "describe": JasperFx's commands for Marten and Wolverine (our tables are Marten's too),
// without starting the service; "import-previous-store": the first version's events into Marten's tables.
if (args is [var command, ..] && !command.StartsWith('-'))
{
    // The commands dispose the services when done: take the embedded cluster (if any) first, to stop it after them.
    var embedded = app.Services.GetService<Chapter.LocalPostgres.LocalPostgresCluster>();
    var exitCode = args switch
    {
        [PreviousStoreImport.Command] => await app.ImportPreviousStoreAsync(),
        _ => await app.RunJasperFxCommands(args),
    };
    if (embedded is not null)
        await embedded.StopAsync();
    return exitCode;
}

await app.MigrateChapterDatabaseAsync();
await app.SealWebhookSecretsAsync();
await app.EnsureOperatorCanSignInAsync();

app.UseSecurityHeaders();
app.UseBodySizeLimit();
app.UseNoBodyOnReads();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseStaticFiles();
app.UseRequestLocalization();
app.UseAuthentication();
app.UseAuthorization();
app.UseChapterDatabase();
app.UseRateLimiter();
app.UseRetryOnConcurrencyConflict();

app.MapOpenApi().AllowAnonymous();
app.MapApiReference();
app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = Projections.WriteHealthAsync }).AllowAnonymous();
app.MapAccess();
app.MapEventFeed();
app.MapChapterWeb();
app.MapChapters();
app.MapMembers();
app.MapReferrals();
app.MapOneToOnes();
app.MapMeetings();
app.MapVisitors();
app.MapReciprocity();
app.MapReports();
app.MapProjectionAdmin();
app.MapNotifications();
app.MapOutboxAdmin();
app.MapDatabaseAdmin();
app.MapWebhooks();
app.MapExports();

await app.RunAsync();
return 0;

public partial class Program;
