package dev.deploykit.server;

import dev.deploykit.ConflictException;
import dev.deploykit.DeployException;
import dev.deploykit.NotFoundException;
import dev.deploykit.PlanValidationException;
import dev.deploykit.plan.PlanFileException;
import io.javalin.http.Context;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An error answer as an RFC 9457 problem document ({@code application/problem+json}): status, a
 * short title, the detail in words and, where one input is at fault, the field that names it (with
 * the line and column of a plan file).
 */
final class ApiProblem extends RuntimeException {
    static final String TYPE = "application/problem+json";
    private static final Logger log = LoggerFactory.getLogger(ApiProblem.class);

    private final int status;
    private final String title;
    private final String field;
    private final Map<String, Object> extra = new LinkedHashMap<>();

    ApiProblem(int status, String title, String detail, String field) {
        super(detail);
        this.status = status;
        this.title = title;
        this.field = field;
    }

    /** The problem for an exception a route threw. */
    static ApiProblem of(Exception e) {
        if (e instanceof ApiProblem p) {
            return p;
        }
        if (e instanceof PlanFileException f) {
            ApiProblem p = new ApiProblem(422, "invalid plan", f.getMessage(), f.field());
            p.extra.put("line", f.line());
            p.extra.put("column", f.column());
            return p;
        }
        if (e instanceof PlanValidationException v) {
            return new ApiProblem(422, "invalid plan", v.getMessage(), v.field());
        }
        if (e instanceof NotFoundException n) {
            return new ApiProblem(404, "not found", n.getMessage(), null);
        }
        if (e instanceof ConflictException c) {
            return new ApiProblem(409, "conflict", c.getMessage(), null);
        }
        if (e instanceof ServerConfig.ConfigException || e instanceof IllegalArgumentException) {
            return new ApiProblem(400, "bad request", e.getMessage(), null);
        }
        if (e instanceof DeployException d) {
            return new ApiProblem(d.retryable() ? 503 : 422, d.retryable() ? "unavailable" : "cannot do that", d.getMessage(), null);
        }
        log.error("request failed", e);
        return new ApiProblem(500, "internal error", "the server failed: " + e.getClass().getSimpleName() + " (see its log)", null);
    }

    int status() {
        return status;
    }

    String detail() {
        return getMessage();
    }

    Map<String, Object> body(Context ctx) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", "about:blank");
        body.put("title", title);
        body.put("status", status);
        body.put("detail", getMessage());
        body.put("instance", ctx.path());
        if (field != null) {
            body.put("field", field);
        }
        body.putAll(extra);
        return body;
    }

    void writeTo(Context ctx) {
        ctx.attribute("problem", true);
        ctx.status(status).contentType(TYPE).result(Json.write(body(ctx)));
    }
}
