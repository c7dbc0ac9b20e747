package dev.deploykit.internal;

import dev.deploykit.Action;
import dev.deploykit.ConflictException;
import dev.deploykit.ConvergenceFailure;
import dev.deploykit.DeployPlan;
import dev.deploykit.DesiredState;
import dev.deploykit.NotFoundException;
import dev.deploykit.Pin;
import dev.deploykit.PinChange;
import dev.deploykit.ReconcileDecision;
import dev.deploykit.Server;
import dev.deploykit.ServerGroup;
import dev.deploykit.Target;
import dev.deploykit.spi.Store;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * {@link DesiredState}: checks and stores pins and holds with their history, and hands passes to the
 * {@link Reconciler}. Pins are checked for conflicts under the server registry's lock, so a pin and a
 * group change on this controller do not interleave. Thread-safe; {@link #as} returns a view that
 * shares everything but the actor.
 */
final class DesiredStateService implements DesiredState {
    private final Store store;
    private final ServerRegistry servers;
    private final Reconciler reconciler;
    private final Clock clock;
    private final String actor;

    DesiredStateService(Store store, ServerRegistry servers, Reconciler reconciler, Clock clock, String actor) {
        this.store = store;
        this.servers = servers;
        this.reconciler = reconciler;
        this.clock = clock;
        this.actor = actor;
    }

    @Override
    public DesiredState as(String newActor) {
        if (newActor == null || newActor.isBlank()) {
            throw new IllegalArgumentException("actor must not be blank");
        }
        return new DesiredStateService(store, servers, reconciler, clock, newActor);
    }

    @Override
    public Pin pin(String group, String packageName, String version, DeployPlan strategy) {
        Objects.requireNonNull(strategy, "strategy");
        synchronized (servers.lock) {
            ServerGroup g = store.group(group).orElseThrow(() -> new NotFoundException("group", group));
            if (store.findPackage(packageName, version).isEmpty()) {
                throw new NotFoundException("package", packageName + " " + version);
            }
            DeployPlan plan = strategy.toBuilder().action(Action.install(packageName, version))
                    .target(new Target(false, Set.of(group), Set.of(), null, Set.of())).build();
            Instant now = clock.instant();
            Pin pin = new Pin(group, packageName, version, plan, actor, now);
            List<Pin> others = store.pins();
            Map<String, ServerGroup> groups = store.groups().stream().collect(Collectors.toMap(ServerGroup::name, Function.identity()));
            for (Server s : store.servers()) {
                if (g.contains(s)) {
                    Optional<Pin> other = Convergence.conflict(pin, s, others, groups);
                    if (other.isPresent()) {
                        throw new ConflictException("pin", pin.key(), Convergence.conflictMessage(pin, other.get(), s.id()));
                    }
                }
            }
            store.putPin(pin, new PinChange(now, actor, PinChange.Kind.PIN, group, packageName, version, null));
            return pin;
        }
    }

    @Override
    public boolean unpin(String group, String packageName) {
        synchronized (servers.lock) {
            String version = store.pins().stream().filter(p -> p.key().equals(Pin.key(group, packageName)))
                    .map(Pin::version).findFirst().orElse(null);
            return version != null && store.removePin(group, packageName,
                    new PinChange(clock.instant(), actor, PinChange.Kind.UNPIN, group, packageName, version, null));
        }
    }

    @Override
    public void hold(String serverId) {
        servers.require(serverId);
        store.holdServer(serverId, true, new PinChange(clock.instant(), actor, PinChange.Kind.HOLD, null, null, null, serverId));
    }

    @Override
    public void release(String serverId) {
        store.holdServer(serverId, false, new PinChange(clock.instant(), actor, PinChange.Kind.RELEASE, null, null, null, serverId));
    }

    @Override
    public Set<String> held() {
        return store.heldServers();
    }

    @Override
    public List<Pin> pins() {
        return store.pins();
    }

    @Override
    public List<PinChange> history() {
        return store.pinHistory();
    }

    @Override
    public List<ReconcileDecision> reconcileNow() {
        return reconciler.pass();
    }

    @Override
    public List<ReconcileDecision> decisions() {
        return reconciler.decisions();
    }

    @Override
    public AutoCloseable onDecision(Consumer<ReconcileDecision> listener) {
        return reconciler.onDecision(listener);
    }

    @Override
    public List<ConvergenceFailure> failing() {
        return reconciler.failing();
    }
}
