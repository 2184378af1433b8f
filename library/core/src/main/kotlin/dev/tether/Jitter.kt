package dev.tether

/**
 * How a [Backoff] randomizes its delays, so that a fleet of clients that lost the same server does not come back at
 * the same instant. Measured by `BackoffStormTest` (100 000 simulated clients, the server back after 0 to 120 s):
 * the server's peak arrivals per 100 ms against the mean over the whole recovery.
 */
public enum class Jitter {
    /**
     * The default. The first delay of a streak is drawn from `[0, d1]` (full jitter); for the rest of the streak
     * every delay is `d(n) * s`, where each client draws its own `s` from `[0.5, 1]` once per streak. The clients'
     * schedules drift apart and stay apart, so arrivals after a recovery stay flat: peak within 1.2–1.7× of the mean
     * for outages up to 30 s, about 2× at 60 s. Never above the cap.
     */
    SPREAD,

    /**
     * Full jitter: every delay is drawn from `[0, d(n)]`. Flat when the server returns at once (1.2×), but after an
     * outage of a few seconds most clients return early and a few late: peak 3–10× the mean over the recovery.
     */
    FULL,

    /**
     * The behaviour before 0.2 (and Tether's default then): every delay is drawn from `[d(n) * (1 - fraction), d(n)]`
     * with the backoff's `jitter` fraction (0.2: 80–100 %). Clients that lost the server together stay nearly in step:
     * peak 3–6× the mean.
     */
    PROPORTIONAL,
}
