using Weasel.Postgresql.Tables;

namespace Chapter.Projections;

/// <summary>
/// The inline views' tables, the prospects' keys and the async projections' state, as Weasel tables: Marten creates and
/// migrates them with its own (<c>ApplyAllConfiguredChangesToDatabaseAsync</c> at start, <c>db-patch</c> for an operator).
/// </summary>
public static class ReadModelSchema
{
    // Checks are written as PostgreSQL prints them back (x = ANY (ARRAY[...]) for IN (...)), so Weasel finds them unchanged.
    /// <summary>
    /// A table in <c>public</c>, its constraints named as PostgreSQL named them when these tables were created by SQL scripts,
    /// so Weasel finds a database made by those scripts already as it should be.
    /// </summary>
    public static Table NewTable(string name) => new($"public.{name}") { PrimaryKeyName = $"{name}_pkey" };

    public static IEnumerable<Table> Tables()
    {
        // Inline read models: updated in the append transaction, so they are never behind the events.
        var chapters = NewTable("chapter_view");
        chapters.AddColumn("id", "text").AsPrimaryKey();
        chapters.AddColumn("name", "text").NotNull();
        chapters.AddColumn("time_zone", "text").NotNull();
        chapters.AddColumn("currency", "text").NotNull();
        chapters.AddColumn("tie_half_life_days", "integer").NotNull();
        chapters.AddColumn("created_at", "timestamp with time zone").NotNull();
        // The chapter's contact spheres (professions that serve the same clients), as leaders set them last.
        chapters.AddColumn("contact_spheres", "jsonb").NotNull().DefaultValueByExpression("'[]'::jsonb");
        yield return chapters;

        var members = NewTable("member_view");
        members.AddColumn("id", "uuid").AsPrimaryKey();
        members.AddColumn("chapter_id", "text").NotNull();
        members.AddColumn("name", "text").NotNull();
        members.AddColumn("profession", "text").NotNull();
        members.AddColumn("languages", "text[]").NotNull();
        members.AddColumn("status", "text").NotNull();
        members.AddColumn("joined_at", "timestamp with time zone").NotNull();
        members.AddColumn("left_at", "timestamp with time zone");
        members.AddColumn("version", "bigint").NotNull();
        members.AddColumn("role", "text").NotNull().DefaultValueByExpression("'member'::text");
        members.Indexes.Add(new IndexDefinition("member_view_chapter") { Columns = ["chapter_id", "joined_at", "id"] });
        yield return members;

        // Each member's profile as it is now (the events keep every earlier one).
        var profiles = NewTable("member_profile_view");
        profiles.AddColumn("member_id", "uuid").AsPrimaryKey();
        profiles.AddColumn("chapter_id", "text").NotNull();
        foreach (var field in new[] { "ask", "ideal_referral", "goals", "accomplishments", "interests", "networks", "skills" })
            profiles.AddColumn(field, "text");
        profiles.AddColumn("changed_at", "timestamp with time zone").NotNull();
        profiles.Indexes.Add(new IndexDefinition("member_profile_view_asks")
        {
            Columns = ["chapter_id", "changed_at DESC"], Predicate = "ask IS NOT NULL",
        });
        yield return profiles;

        var referrals = NewTable("referral_view");
        referrals.AddColumn("id", "uuid").AsPrimaryKey();
        referrals.AddColumn("chapter_id", "text").NotNull();
        referrals.AddColumn("giver_id", "uuid").NotNull();
        referrals.AddColumn("receiver_id", "uuid").NotNull();
        referrals.AddColumn("status", "text").NotNull();
        referrals.AddColumn("need", "text").NotNull();
        referrals.AddColumn("temperature", "text").NotNull();
        referrals.AddColumn("language", "text").NotNull();
        referrals.AddColumn("outcome", "text");
        referrals.AddColumn("value_amount", "numeric");
        referrals.AddColumn("value_currency", "text");
        referrals.AddColumn("decline_reason", "text");
        referrals.AddColumn("thank_note", "text");
        referrals.AddColumn("given_at", "timestamp with time zone").NotNull();
        referrals.AddColumn("accepted_at", "timestamp with time zone");
        referrals.AddColumn("declined_at", "timestamp with time zone");
        referrals.AddColumn("closed_at", "timestamp with time zone");
        referrals.AddColumn("thanked_at", "timestamp with time zone");
        referrals.AddColumn("version", "bigint").NotNull();
        // The prospect, sealed with the referral's key in prospect_keys: destroying the key erases them from every copy.
        referrals.AddColumn("prospect_consent", "boolean").NotNull().DefaultValueByExpression("true");
        referrals.AddColumn("prospect_sealed", "text");
        referrals.AddColumn("prospect_erased_at", "timestamp with time zone");
        // When the giver had the service introduce the prospect and the receiver (at most once per referral).
        referrals.AddColumn("introduced_at", "timestamp with time zone");
        referrals.AddColumn("withdrawn_at", "timestamp with time zone");
        referrals.AddColumn("withdraw_reason", "text");
        // When the giver last passed it to another member (receiver_id is the member it is with now).
        referrals.AddColumn("redirected_at", "timestamp with time zone");
        // Each correction as it was made, oldest first: outcome, value and thank_note above already say what it corrected them to.
        referrals.AddColumn("corrections", "jsonb");
        referrals.Indexes.Add(new IndexDefinition("referral_view_chapter") { Columns = ["chapter_id", "given_at DESC", "id"] });
        referrals.Indexes.Add(new IndexDefinition("referral_view_giver") { Columns = ["giver_id"] });
        referrals.Indexes.Add(new IndexDefinition("referral_view_receiver") { Columns = ["receiver_id"] });
        yield return referrals;

        // A prospect's (or a visitor's, or a substitute's) details live in events and views only sealed with this key.
        // Erasing destroys the key and keeps a tombstone, so a retried give can never make a new key for the referral.
        var keys = NewTable("prospect_keys");
        keys.AddColumn("referral_id", "uuid").AsPrimaryKey();
        keys.AddColumn("chapter_id", "text").NotNull();
        keys.AddColumn("key", "bytea");
        keys.AddColumn("created_at", "timestamp with time zone").NotNull().DefaultValueByExpression("now()");
        keys.AddColumn("erased_at", "timestamp with time zone");
        keys.CheckConstraints.Add(new Weasel.Core.TableCheckConstraint("prospect_keys_check", "(key IS NULL) = (erased_at IS NOT NULL)"));
        yield return keys;

        var oneToOnes = NewTable("one_to_one_view");
        oneToOnes.AddColumn("id", "uuid").AsPrimaryKey();
        oneToOnes.AddColumn("chapter_id", "text").NotNull();
        oneToOnes.AddColumn("member_a", "uuid").NotNull();
        oneToOnes.AddColumn("member_b", "uuid").NotNull();
        oneToOnes.AddColumn("held_on", "date").NotNull();
        oneToOnes.AddColumn("note", "text");
        oneToOnes.AddColumn("recorded_at", "timestamp with time zone").NotNull();
        oneToOnes.Indexes.Add(new IndexDefinition("one_to_one_view_chapter") { Columns = ["chapter_id", "held_on DESC", "id"] });
        yield return oneToOnes;

        // The weekly meetings and each member's attendance (PALMS). A substitute's name is sealed, with a key of its own.
        var meetings = NewTable("meeting_view");
        meetings.AddColumn("id", "uuid").AsPrimaryKey();
        meetings.AddColumn("chapter_id", "text").NotNull();
        meetings.AddColumn("held_on", "date").NotNull();
        meetings.AddColumn("status", "text").NotNull();
        meetings.AddColumn("opened_at", "timestamp with time zone").NotNull();
        meetings.AddColumn("closed_at", "timestamp with time zone");
        meetings.AddColumn("version", "bigint").NotNull();
        meetings.CheckConstraints.Add(new Weasel.Core.TableCheckConstraint("meeting_view_status_check", "status = ANY (ARRAY['open'::text, 'closed'::text])"));
        meetings.Indexes.Add(new IndexDefinition("meeting_view_chapter_day") { Columns = ["chapter_id", "held_on"], IsUnique = true });
        yield return meetings;

        var attendance = NewTable("meeting_attendance");
        attendance.AddColumn("meeting_id", "uuid").AsPrimaryKey().ForeignKeyTo(meetings, "id", "meeting_attendance_meeting_id_fkey");
        attendance.AddColumn("member_id", "uuid").AsPrimaryKey();
        attendance.AddColumn("status", "text").NotNull();
        attendance.AddColumn("substitute_sealed", "text");
        attendance.AddColumn("substitute_profession", "text");
        attendance.AddColumn("corrections", "integer").NotNull().DefaultValue(0);
        attendance.AddColumn("marked_at", "timestamp with time zone").NotNull();
        attendance.CheckConstraints.Add(new Weasel.Core.TableCheckConstraint("meeting_attendance_status_check", "status = ANY (ARRAY['present'::text, 'absent'::text, 'late'::text, 'medical'::text, 'substitute'::text])"));
        yield return attendance;

        // Visitors and their follow-up; name and contact details sealed under a key of the visitor's own.
        var visitors = NewTable("visitor_view");
        visitors.AddColumn("id", "uuid").AsPrimaryKey();
        visitors.AddColumn("chapter_id", "text").NotNull();
        visitors.AddColumn("sealed_details", "text").NotNull();
        visitors.AddColumn("profession", "text").NotNull();
        visitors.AddColumn("invited_by", "uuid").NotNull();
        visitors.AddColumn("meeting_id", "uuid");
        visitors.AddColumn("consent", "boolean").NotNull();
        visitors.AddColumn("registered_at", "timestamp with time zone").NotNull();
        visitors.AddColumn("steps", "jsonb").NotNull().DefaultValueByExpression("'[]'::jsonb");
        visitors.AddColumn("member_id", "uuid");
        visitors.AddColumn("version", "bigint").NotNull();
        visitors.Indexes.Add(new IndexDefinition("visitor_view_chapter") { Columns = ["chapter_id", "registered_at DESC"] });
        yield return visitors;
    }
}
