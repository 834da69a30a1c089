using System.Text.Json;
using Chapter.Testing;
using Npgsql;

namespace Chapter.EventStore.Tests;

public sealed record Opened(string Name);
public sealed record Noted(string Text);
public sealed record Deleted(int Why);

/// <summary>A migrated database of its own per test class, with a store over a small event vocabulary.</summary>
public sealed class StoreFixture : IAsyncLifetime
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public EventTypeMap Types { get; } = new(
        new Dictionary<Type, string> { [typeof(Opened)] = "test.opened.v1", [typeof(Noted)] = "test.noted.v1" }, Json);

    public EventStore Store(params IInlineProjection[] projections) => new(DataSource, Types, projections);

    public async Task InitializeAsync()
    {
        DataSource = NpgsqlDataSource.Create(await TestPostgres.CreateDatabaseAsync());
        await SchemaMigrator.MigrateAsync(DataSource, SchemaMigrator.EventStoreMigrations);
    }

    public async Task<long> ScalarAsync(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    public async Task DisposeAsync() => await DataSource.DisposeAsync();
}
