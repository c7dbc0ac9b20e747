package dev.deploykit.server;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;

/**
 * {@link ApiRecords} in the store's PostgreSQL schema, shared by every server process on it. Its
 * tables have their own migrations ({@code dev/deploykit/server/db}) and history table
 * ({@code api_schema_history}), apart from the store's.
 */
final class PostgresApiRecords implements ApiRecords {
    private final DataSource db;

    PostgresApiRecords(DataSource db, String schema) {
        this.db = db;
        Flyway.configure().dataSource(db).schemas(schema == null ? new String[0] : new String[] {schema}).table("api_schema_history")
                .baselineOnMigrate(true).baselineVersion("0") // the schema holds the store's tables already
               .locations("classpath:dev/deploykit/server/db")
                .load().migrate();
    }

    @Override
    public void audit(Instant at, String actor, String action, String target, int status, String detail) {
        update("insert into api_audit (at, actor, action, target, status, detail) values (?, ?, ?, ?, ?, ?)",
                Timestamp.from(at), actor, action, target, status, detail);
    }

    @Override
    public List<AuditEntry> audit(long afterSeq, int limit) {
        try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement(
                "select seq, at, actor, action, target, status, detail from api_audit where seq > ? order by seq limit ?")) {
            s.setLong(1, afterSeq);
            s.setInt(2, limit);
            List<AuditEntry> out = new ArrayList<>();
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.add(new AuditEntry(r.getLong(1), r.getTimestamp(2).toInstant(), r.getString(3), r.getString(4), r.getString(5),
                            r.getInt(6), r.getString(7)));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the audit: " + e.getMessage(), e);
        }
    }

    @Override
    public Map<String, String> starters(Collection<String> deploymentIds) {
        Map<String, String> out = new HashMap<>();
        if (deploymentIds.isEmpty()) {
            return out;
        }
        try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement(
                "select target, actor from api_audit where action = 'deployment.start' and status = 201 and target = any(?)")) {
            s.setArray(1, c.createArrayOf("text", deploymentIds.toArray()));
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.put(r.getString(1), r.getString(2));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the audit: " + e.getMessage(), e);
        }
    }

    @Override
    public Optional<Kept> claim(String actor, String key, String request, Instant now) {
        try (Connection c = db.getConnection(); PreparedStatement insert = c.prepareStatement(
                "insert into api_idempotency (actor, key, request, status, body, created_at) values (?, ?, ?, 0, '', ?) "
                        + "on conflict do nothing")) {
            insert.setString(1, actor);
            insert.setString(2, key);
            insert.setString(3, request);
            insert.setTimestamp(4, Timestamp.from(now));
            if (insert.executeUpdate() == 1) {
                return Optional.empty();
            }
            try (PreparedStatement s = c.prepareStatement("select request, status, body from api_idempotency where actor = ? and key = ?")) {
                s.setString(1, actor);
                s.setString(2, key);
                try (ResultSet r = s.executeQuery()) {
                    // Gone between the two statements: its first request was released; claim again.
                    return r.next() ? Optional.of(new Kept(r.getString(1), r.getInt(2), r.getString(3))) : claim(actor, key, request, now);
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot claim the idempotency key: " + e.getMessage(), e);
        }
    }

    @Override
    public void complete(String actor, String key, int status, String body) {
        update("update api_idempotency set status = ?, body = ? where actor = ? and key = ?", status, body, actor, key);
    }

    @Override
    public void release(String actor, String key) {
        update("delete from api_idempotency where actor = ? and key = ? and status = 0", actor, key);
    }

    private void update(String sql, Object... args) {
        try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                s.setObject(i + 1, args[i]);
            }
            s.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException("cannot write the API's records: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean claimDelivery(String webhook, String deploymentId, long seq, String eventType, String claimedBy, Instant now) {
        try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement("insert into api_webhook_deliveries (webhook, "
                + "deployment_id, seq, event_type, claimed_by, attempts, status, error, delivered, updated_at) "
                + "values (?, ?, ?, ?, ?, 0, 0, '', false, ?) on conflict do nothing")) {
            s.setString(1, webhook);
            s.setString(2, deploymentId);
            s.setLong(3, seq);
            s.setString(4, eventType);
            s.setString(5, claimedBy);
            s.setTimestamp(6, Timestamp.from(now));
            return s.executeUpdate() == 1;
        } catch (SQLException e) {
            throw new IllegalStateException("cannot claim a webhook delivery: " + e.getMessage(), e);
        }
    }

    @Override
    public void recordAttempt(String webhook, String deploymentId, long seq, int attempts, int status, String error, boolean delivered,
            Instant now) {
        update("update api_webhook_deliveries set attempts = ?, status = ?, error = ?, delivered = ?, updated_at = ? "
                + "where webhook = ? and deployment_id = ? and seq = ?", attempts, status, error, delivered, Timestamp.from(now), webhook,
                deploymentId, seq);
    }

    @Override
    public List<Delivery> deliveries(int limit) {
        try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement("select webhook, deployment_id, seq, event_type, "
                + "claimed_by, attempts, status, error, delivered, updated_at from api_webhook_deliveries order by updated_at desc limit ?")) {
            s.setInt(1, limit);
            List<Delivery> out = new ArrayList<>();
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.add(new Delivery(r.getString(1), r.getString(2), r.getLong(3), r.getString(4), r.getString(5), r.getInt(6),
                            r.getInt(7), r.getString(8), r.getBoolean(9), r.getTimestamp(10).toInstant()));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the webhook deliveries: " + e.getMessage(), e);
        }
    }
}
