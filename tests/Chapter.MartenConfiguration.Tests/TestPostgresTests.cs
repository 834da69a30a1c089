using Chapter.Testing;
using Npgsql;

namespace Chapter.MartenConfiguration.Tests;

public sealed class TestPostgresTests
{
    [Fact]
    public async Task Tests_run_on_a_configured_server_else_testcontainers_where_docker_answers_else_a_local_cluster()
    {
        var expected = !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(TestPostgres.ConnectionStringVariable))
            ? TestPostgresSource.Configured
            : TestPostgres.DockerAnswers() ? TestPostgresSource.Testcontainers : TestPostgresSource.LocalCluster;
        TestPostgres.Source.ShouldBe(expected);

        await using var connection = new NpgsqlConnection(await TestPostgres.CreateDatabaseAsync());
        await connection.OpenAsync();
        connection.PostgreSqlVersion.Major.ShouldBeGreaterThanOrEqualTo(15);
        if (TestPostgres.Source == TestPostgresSource.LocalCluster)
            connection.Host.ShouldBe("127.0.0.1");
    }
}
