using System.Net;
using System.Net.Http.Json;
using Chapter.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Weasel.Core.Migrations;

namespace Chapter.Api.Tests;

/// <summary>
/// A database the service may not alter: its owner put the schema in place, and the service's own role may only read and
/// write rows. The service starts on it, and serves, without issuing any DDL.
/// </summary>
public sealed class LockedSchemaApiTests
{
    [Fact]
    public async Task A_service_whose_role_may_only_read_and_write_rows_starts_and_serves_once_the_schema_is_in_place()
    {
        var owner = await TestPostgres.CreateDatabaseAsync();
        await using (var migrating = new ApiFixture())
            await migrating.StartOnAsync(owner);   // the schema, as the owner's scripts would leave it

        var role = $"app_{Guid.NewGuid():N}"[..24];
        var database = new NpgsqlConnectionStringBuilder(owner).Database;
        await Sql.ExecuteAsync(owner,
            $"""
            CREATE ROLE {role} LOGIN PASSWORD 'rows-only';
            REVOKE CREATE ON SCHEMA public FROM PUBLIC;
            REVOKE CREATE, TEMPORARY ON DATABASE {database} FROM PUBLIC;
            GRANT USAGE ON SCHEMA public, proj_activity TO {role};
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public, proj_activity TO {role};
            GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public, proj_activity TO {role};
            GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public, proj_activity TO {role};
            """);
        var rowsOnly = new NpgsqlConnectionStringBuilder(owner) { Username = role, Password = "rows-only" }.ConnectionString;
        try
        {
            (await Sql.ScalarAsync(rowsOnly, $"SELECT has_schema_privilege('public', 'CREATE') OR has_database_privilege('{database}', 'CREATE')"))
                .ShouldBe(false, "the role may not create anything");

            await using var api = new ApiFixture();
            await api.StartOnAsync(rowsOnly);
            var scenario = await new Scenario(api).WithChapterAsync();
            var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
            var referral = await scenario.GiveAsync(anna, bram);
            (await scenario.ActAsync(bram, referral, "accept", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
            await api.WaitForProjectionsAsync();
            // Accepted, whether the step was merged into the referral's row (same batch) or stored as a row of its own.
            (await api.ScalarAsync(
                """
                SELECT count(*) FROM proj_activity.referrals r WHERE r.id = $1 AND (r.accepted_at IS NOT NULL
                    OR EXISTS (SELECT FROM proj_activity.referral_steps s WHERE s.referral_id = r.id AND s.accepted_at IS NOT NULL))
                """, referral)).ShouldBe(1);

            // A rebuild builds its copy in a schema of its own, which this role may not create: refused loudly, the live tables go on.
            var refused = await scenario.Operator.PostAsync("/api/admin/projections/activity/rebuild", null);
            refused.StatusCode.ShouldBe(HttpStatusCode.Conflict);
            (await refused.ReadJsonAsync())["detail"]!.GetValue<string>().ShouldContain("permission denied");
            var status = (await (await scenario.Operator.GetAsync("/api/admin/projections")).ReadJsonAsync())["items"]!.AsArray().Single()!;
            status["state"]!.GetValue<string>().ShouldBe("running");
            status["rebuildRequested"]!.GetValue<bool>().ShouldBeFalse();
            await scenario.AddMemberAsync("Cleo");
            await api.WaitForProjectionsAsync();
            (await api.ScalarAsync("SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(3);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await Sql.ExecuteAsync(owner, $"DROP OWNED BY {role}; DROP ROLE {role}");
        }
    }

    [Fact]
    public async Task Marten_owns_every_table_db_patch_writes_ours_for_an_empty_database_and_a_migrated_one_needs_nothing()
    {
        // What db-patch writes for an operator, for a database that has nothing yet: our tables with Marten's.
        await using (var store = Marten.DocumentStore.For(options =>
                     {
                         Chapter.Projections.ChapterEventStore.Configure(options, TestPostgres.CreateDatabaseAsync().GetAwaiter().GetResult(),
                             new Chapter.Projections.Activity.ActivityProjection());
                         foreach (var table in Infrastructure.Database.OwnTables())
                             options.Storage.ExtendedSchemaObjects.Add(table);
                     }))
        {
            var file = Path.Combine(Path.GetTempPath(), $"chapter-{Guid.NewGuid():N}.sql");
            await store.Storage.Database.WriteMigrationFileAsync(file);
            var script = await File.ReadAllTextAsync(file);
            foreach (var table in new[] { "mt_events", "referral_view", "member_view", "meeting_attendance", "prospect_keys",
                         "access_tokens", "notification_settings", "weekly_digests", "webhooks", "webhook_deliveries" })
                script.ShouldContain($"public.{table}", Case.Insensitive);
            script.ShouldContain("CREATE TABLE referrals_31 PARTITION OF referrals");
        }

        // The service's database, migrated at its start: nothing is left to change, so a role that may not alter it can start.
        await using var api = new ApiFixture();
        await api.InitializeAsync();
        var migration = await api.Services.GetRequiredService<Marten.IDocumentStore>().Storage.Database.CreateMigrationAsync();
        migration.Difference.ShouldBe(Weasel.Core.SchemaPatchDifference.None);
    }
}
