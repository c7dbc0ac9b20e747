package dev.deploykit.internal;

import dev.deploykit.DeployEvent;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A lossless {@link Flow.Publisher} over a deployment's event log: each subscriber has a cursor into
 * the log and is fed from the store as it requests, so a slow subscriber never blocks the engine and
 * never misses an event. Completes once the deployment has finished and every event was delivered.
 */
final class EventPublisher implements Flow.Publisher<DeployEvent> {
    private final DeploymentRun run;
    private final Executor executor;

    EventPublisher(DeploymentRun run, Executor executor) {
        this.run = run;
        this.executor = executor;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super DeployEvent> subscriber) {
        subscriber.onSubscribe(new Cursor(subscriber));
    }

    private final class Cursor implements Flow.Subscription {
        private final Flow.Subscriber<? super DeployEvent> subscriber;
        private final AtomicLong demand = new AtomicLong();
        private final AtomicBoolean draining = new AtomicBoolean();
        private volatile boolean done;
        private long delivered;

        Cursor(Flow.Subscriber<? super DeployEvent> subscriber) {
            this.subscriber = subscriber;
        }

        @Override
        public void request(long n) {
            if (done) {
                return;
            }
            if (n <= 0) {
                done = true;
                subscriber.onError(new IllegalArgumentException("request must be positive, but was " + n));
                return;
            }
            demand.getAndAccumulate(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
            if (draining.compareAndSet(false, true)) {
                executor.execute(this::drain);
            }
        }

        @Override
        public void cancel() {
            done = true;
        }

        private void drain() {
            try {
                while (!done && demand.get() > 0) {
                    boolean finished = run.finished();
                    List<DeployEvent> events = run.eventsAfter(delivered, 200);
                    for (DeployEvent e : events) {
                        if (done || demand.get() == 0) {
                            break;
                        }
                        subscriber.onNext(e);
                        delivered = e.seq();
                        demand.decrementAndGet();
                    }
                    if (finished && events.isEmpty()) {
                        done = true;
                        subscriber.onComplete();
                    }
                }
            } catch (RuntimeException e) {
                done = true;
                subscriber.onError(e);
            } finally {
                draining.set(false);
                if (!done && demand.get() > 0 && draining.compareAndSet(false, true)) {
                    executor.execute(this::drain);
                }
            }
        }
    }
}
