package dev.deploykit;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** Test helper: what each node printed during one step of a deployment, read from its events. */
public final class Outputs {
    private Outputs() {}

    /** Server id to the output lines of {@code step}, in order. */
    public static Map<String, List<String>> byServer(Deployment d, String step) {
        return d.events().stream().filter(DeployEvent.NodeOutput.class::isInstance).map(DeployEvent.NodeOutput.class::cast)
                .filter(o -> o.step().equals(step))
                .collect(Collectors.groupingBy(DeployEvent.NodeOutput::serverId,
                        Collectors.mapping(DeployEvent.NodeOutput::line, Collectors.toList())));
    }
}
