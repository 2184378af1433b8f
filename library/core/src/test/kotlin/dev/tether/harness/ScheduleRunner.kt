package dev.tether.harness

import dev.tether.Connection
import dev.tether.ConnectionEvent
import dev.tether.ConnectionState
import dev.tether.Decision
import dev.tether.DefaultPolicy
import dev.tether.Frame
import dev.tether.TetherException
import dev.tether.harness.Schedule.Fault
import dev.tether.harness.Schedule.How
import dev.tether.internal.nio.EventLoopGroup
import dev.tether.testkit.ConnectionScript
import dev.tether.testkit.DeliveryLedger
import dev.tether.testkit.FaultProxy
import dev.tether.testkit.ServerConnection
import dev.tether.testkit.TestCertificate
import dev.tether.testkit.TestWebSocketServer
import dev.tether.testkit.WireFrame
import dev.tether.webSocketClient
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.future.asCompletableFuture
import kotlinx.coroutines.joinAll
import kotlinx.coroutines.launch
import kotlinx.coroutines.runInterruptible
import kotlinx.coroutines.selects.select
import kotlinx.coroutines.withTimeoutOrNull
import java.security.cert.X509Certificate
import java.util.Collections
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.TimeUnit
import javax.net.ssl.SSLEngine
import javax.net.ssl.X509ExtendedTrustManager
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlin.time.TimeSource
import java.time.Duration as JDuration

/**
 * Runs one [Schedule] against a real loopback server (through a [FaultProxy] when the schedule says so) and returns
 * every invariant it saw broken (empty: all held). See docs/testing.md for the list.
 */
class ScheduleRunner(private val s: Schedule, private val cert: TestCertificate) {
    private val problems = Collections.synchronizedList(ArrayList<String>())
    private val ledger = DeliveryLedger()
    private val events = Collections.synchronizedList(ArrayList<ConnectionEvent>())
    private val reportedFailed = ConcurrentHashMap<String, String>() // tag -> reasons reported to onError
    private val gate = MutableStateFlow(true)
    private val hows = ConcurrentHashMap<String, String>() // tag -> how it was sent and when, for a replay's report
    private val t0 = TimeSource.Monotonic.markNow()
    private val hookSawClose = kotlinx.coroutines.CompletableDeferred<kotlin.time.TimeMark>()

    /** Invariant 5: no application code on a `tether-io` thread. */
    private fun offLoop(where: String) {
        val t = Thread.currentThread()
        if (t.name.startsWith("tether-io")) problems += "$where ran on the I/O loop thread ${t.name}"
    }

    private fun problem(what: String) {
        problems += what
    }

    suspend fun run(): List<String> {
        val server = TestWebSocketServer(script = ConnectionScript { })
        if (s.tls) server.tls = cert
        if (s.compression) server.compression = dev.tether.testkit.ServerCompression()
        server.start()
        val proxy = if (s.viaProxy) FaultProxy(targetPort = server.port).start() else null
        // a sender that dies of an exception no API documents is a broken promise too (seed 30: enqueue threw
        // CancelledKeyException when the socket closed under a direct write)
        val died = kotlinx.coroutines.CoroutineExceptionHandler { _, e -> problem("a sender died of an undocumented exception: $e") }
        val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default + died)
        try {
            val url = if (proxy != null) "${if (s.tls) "wss" else "ws"}://127.0.0.1:${proxy.port}/h" else server.url("/h")
            val conn = client(url).connect()
            val javaThreads = ArrayList<Thread>()
            val senders = s.senders.map { plan ->
                when (plan.kind) {
                    Schedule.SenderKind.JAVA_THREAD -> {
                        val t = Thread({ javaSender(plan, conn) }, "harness-${plan.name}").apply {
                            isDaemon = true
                            setUncaughtExceptionHandler { _, e -> problem("a Java sender died of an undocumented exception: $e") }
                            start()
                        }
                        javaThreads += t
                        null
                    }
                    Schedule.SenderKind.UNCONFINED -> scope.launch(Dispatchers.Unconfined) { sender(plan, conn, this) }
                    Schedule.SenderKind.COROUTINE -> scope.launch { sender(plan, conn, this) }
                }
            }.filterNotNull()
            chaos(conn, server, proxy)
            // the senders get a while to finish by themselves; close() ends whatever still waits
            withTimeoutOrNull(5.seconds) {
                senders.joinAll()
                runInterruptible(Dispatchers.IO) { javaThreads.forEach { it.join() } }
            }
            proxy?.heal()
            val closeMs = withTimeoutOrNull(CLOSE_TIMEOUT_MS.milliseconds + 15.seconds) { end(conn, server) }
                ?: return problems.also { it += "close (${s.end}) did not return within ${CLOSE_TIMEOUT_MS / 1000 + 15} s" }.toList()
            // (4) close returns within closeTimeout and a little slack
            if (closeMs > CLOSE_TIMEOUT_MS + SLACK_MS) problem("close (${s.end}) took $closeMs ms (closeTimeout $CLOSE_TIMEOUT_MS ms)")
            // (1) every send ends, within the close bound
            val left = withTimeoutOrNull((CLOSE_TIMEOUT_MS + SLACK_MS).milliseconds) {
                senders.joinAll()
                runInterruptible(Dispatchers.IO) { javaThreads.forEach { it.join() } }
                while (ledger.pending().isNotEmpty()) delay(10)
            }
            if (left == null) {
                problem("sends still waiting after close: ${ledger.pending().take(10)} (outboxDepth ${conn.outboxDepth})")
                // how each was sent, whether it reached the server, and on which connection: where it was lost
                val arrivedOn = server.connections.flatMap { c -> c.received.filter { it.isText }.map { it.text.substringBefore(' ') to c.id } }.toMap()
                for (tag in ledger.pending().take(10)) problem("  $tag: ${hows[tag]}; at the server: ${arrivedOn[tag]?.let { "conn $it" } ?: "no"}")
            }
            // (6) every coroutine of the connection ended; every socket closed
            if (withTimeoutOrNull(5.seconds) { conn.awaitClosed() } == null) problem("awaitClosed() did not return after close")
            for (c in server.connections) {
                if (!c.awaitClosed(JDuration.ofSeconds(5))) problem("server connection ${c.id} still open after close")
            }
            // (2) and (3): nothing reported failed arrived, per-sender order, no duplicates
            val arrived = received(server)
            val broken = ledger.violations(arrived, requireOutcomes = true)
            broken.forEach(::problem)
            // for an order violation: how the sender's messages went, in arrival order, per server connection
            for (sender in broken.filter { "out of order" in it }.map { it.substringBefore('#') }.toSet()) {
                val seen = server.connections.sortedBy { it.id }.joinToString(" | ") { c ->
                    "conn ${c.id}: " + c.received.filter { it.isText && it.text.startsWith("$sender#") }
                        .joinToString(" ") { f -> f.text.substringBefore(' ').let { t -> "$t(${hows[t]})" } }
                }
                problem("$sender arrived as: $seen")
            }
            tally.add(ledger, arrived.size, server.connections.size, s.chaos.size)
            for ((tag, reasons) in reportedFailed) {
                val outcome = ledger.outcome(tag)
                if (outcome == DeliveryLedger.Outcome.WRITTEN) problem("$tag was reported written and failed ($reasons)")
            }
            // (7) the state sequence is legal
            StateLaw.violations(events.toList()).forEach(::problem)
            if (LOG && problems.isNotEmpty()) {
                events.forEach { println("event: $it") }
                arrived.forEachIndexed { i, m -> val tag = m.substringBefore(' '); println("arrived $i: $tag ${hows[tag]} -> ${ledger.outcome(tag)}") }
            }
        } finally {
            scope.cancel()
            proxy?.close()
            server.stop()
        }
        // (6) no socket left registered on the I/O loops
        val open = withTimeoutOrNull(5.seconds) {
            while (EventLoopGroup.shared.openChannels() > 0) delay(10)
        }
        if (open == null) problem("${EventLoopGroup.shared.openChannels()} channel(s) still registered on the I/O loops")
        return problems.toList()
    }

    private fun client(url: String) = webSocketClient(url) {
        logInfo = LOG
        logErrors = LOG
        reconnect {
            backoff(20, 200, 2.0)
            jitter(0.0)
        }
        connectTimeout = 5.seconds
        closeTimeout = CLOSE_TIMEOUT_MS.milliseconds
        pingInterval = 1.seconds
        pongTimeout = 2.seconds
        outgoingBuffer(s.outgoingCapacity, s.overflow)
        offlinePolicy = s.offline
        outboxTimeToLive = s.outboxTimeToLiveMs?.milliseconds
        if (s.withGate) gate(gate)
        if (!s.compression) compression { enabled = false }
        if (s.tls) tls(arrayOf(trustManager()))
        watch { c -> c.events.collect { events += it } }
        onConnect { offLoop("onConnect") }
        onText { text ->
            offLoop("onText")
            if (text == CLOSE_FROM_HOOK) {
                hookSawClose.complete(TimeSource.Monotonic.markNow())
                connection.close(4001, "from a hook")
            }
        }
        onPing { offLoop("onPing") }
        onPong { _, _ -> offLoop("onPong") }
        onError { e ->
            offLoop("onError")
            if (e is TetherException.SendFailed) {
                val tag = tagOf(e.frame)
                if (tag != null) {
                    reportedFailed.merge(tag, e.reason.name) { a, b -> "$a,$b" }
                    ledger.failed(tag, "onError ${e.reason}")
                }
            }
            DefaultPolicy.onError(e, hasConnectProvider = false)
        }
        onDisconnect { d ->
            offLoop("onDisconnect")
            if (s.stayDownOnServerClose && d.code == 1001) Decision.StayDown else DefaultPolicy.onDisconnect(d)
        }
        onTerminate { offLoop("onTerminate") }
    }

    /** A trust manager that checks the test certificate, notes its thread, and may take its time. */
    private fun trustManager(): X509ExtendedTrustManager {
        val inner = cert.trustManager as X509ExtendedTrustManager
        return object : X509ExtendedTrustManager() {
            private fun slow() {
                offLoop("TrustManager")
                if (s.slowTrustMs > 0) Thread.sleep(s.slowTrustMs)
            }

            override fun checkServerTrusted(chain: Array<out X509Certificate>, authType: String, engine: SSLEngine) {
                slow()
                inner.checkServerTrusted(chain, authType, engine)
            }

            override fun checkServerTrusted(chain: Array<out X509Certificate>, authType: String, socket: java.net.Socket) {
                slow()
                inner.checkServerTrusted(chain, authType, socket)
            }

            override fun checkServerTrusted(chain: Array<out X509Certificate>, authType: String) {
                slow()
                inner.checkServerTrusted(chain, authType)
            }

            override fun checkClientTrusted(chain: Array<out X509Certificate>, authType: String, engine: SSLEngine) =
                inner.checkClientTrusted(chain, authType, engine)

            override fun checkClientTrusted(chain: Array<out X509Certificate>, authType: String, socket: java.net.Socket) =
                inner.checkClientTrusted(chain, authType, socket)

            override fun checkClientTrusted(chain: Array<out X509Certificate>, authType: String) = inner.checkClientTrusted(chain, authType)
            override fun getAcceptedIssuers(): Array<X509Certificate> = inner.acceptedIssuers
        }
    }

    private fun tagOf(frame: Frame): String? = (frame as? Frame.Text)?.text?.substringBefore(' ')?.takeIf { '#' in it }

    private fun frameFor(tag: String, padding: Int): Frame.Text =
        Frame.Text(if (padding == 0) tag else tag + " " + "x".repeat(padding))

    /** Records the outcome of a [Deferred] from `enqueue` when it completes, and where its completion ran. */
    private fun settleWhenDone(tag: String, result: Deferred<Unit>) {
        result.invokeOnCompletion { cause ->
            offLoop("a Deferred's completion handler")
            settle(tag, cause)
        }
        result.asCompletableFuture().whenComplete { _, _ -> offLoop("a CompletableFuture stage") }
    }

    private fun settle(tag: String, cause: Throwable?) {
        when (cause) {
            null -> ledger.written(tag)
            is TetherException.SendFailed -> ledger.failed(tag, cause.reason.name)
            is CancellationException -> ledger.cancelled(tag)
            else -> {
                problem("$tag failed with an undocumented exception: $cause")
                ledger.failed(tag, cause.toString())
            }
        }
    }

    private suspend fun sender(plan: Schedule.SenderPlan, conn: Connection, scope: CoroutineScope) {
        for (m in plan.messages) {
            if (m.pauseMs > 0) delay(m.pauseMs)
            val tag = ledger.next(plan.name)
            val frame = frameFor(tag, m.padding)
            hows[tag] = "${m.how} at ${t0.elapsedNow().inWholeMilliseconds} ms on ${Thread.currentThread().name}"
            when (m.how) {
                How.SEND, How.SEND_TTL -> {
                    val outcome = runCatching { if (m.how == How.SEND) conn.send(frame) else conn.send(frame, TTL) }
                    offLoop("a sender's continuation")
                    outcome.exceptionOrNull()?.let { if (it is CancellationException) throw it }
                    settle(tag, outcome.exceptionOrNull())
                }
                How.ENQUEUE, How.ENQUEUE_AND_WAIT -> settleWhenDone(tag, conn.enqueue(frame))
                How.ENQUEUE_TTL -> settleWhenDone(tag, conn.enqueue(frame, TTL))
                How.OUTGOING, How.OUTGOING_SELECT -> {
                    val handed = runCatching {
                        if (m.how == How.OUTGOING) conn.outgoing.send(frame) else select { conn.outgoing.onSend(frame) {} }
                    }
                    offLoop("a sender's continuation")
                    val e = handed.exceptionOrNull()
                    when {
                        e == null -> ledger.accepted(tag)
                        e is CancellationException -> throw e
                        else -> ledger.failed(tag, "outgoing refused it: $e") // the channel is closed: never sent
                    }
                }
                How.CANCELLED_SEND -> {
                    val job: Job = scope.launch(start = CoroutineStart.UNDISPATCHED) {
                        val outcome = runCatching { conn.send(frame) }
                        val e = outcome.exceptionOrNull()
                        if (e is CancellationException) ledger.cancelled(tag) else settle(tag, e)
                    }
                    delay(m.padding % 20L)
                    job.cancelAndJoin()
                }
            }
        }
    }

    private fun javaSender(plan: Schedule.SenderPlan, conn: Connection) {
        for (m in plan.messages) {
            if (m.pauseMs > 0) Thread.sleep(m.pauseMs)
            val tag = ledger.next(plan.name)
            val frame = frameFor(tag, m.padding)
            hows[tag] = "${m.how} at ${t0.elapsedNow().inWholeMilliseconds} ms"
            val result = if (m.how == How.ENQUEUE_TTL) conn.enqueue(frame, TTL) else conn.enqueue(frame)
            settleWhenDone(tag, result)
            if (m.how == How.ENQUEUE_AND_WAIT) {
                try {
                    result.asCompletableFuture().get(60, TimeUnit.SECONDS)
                } catch (e: java.util.concurrent.ExecutionException) {
                    // the outcome is recorded by settleWhenDone
                } catch (e: java.util.concurrent.TimeoutException) {
                    problem("$tag: enqueue's future did not complete in 60 s")
                }
            }
        }
    }

    private fun last(server: TestWebSocketServer): ServerConnection? = server.connections.lastOrNull()

    private suspend fun chaos(conn: Connection, server: TestWebSocketServer, proxy: FaultProxy?) {
        for (step in s.chaos) {
            delay(step.pauseMs)
            when (step.what) {
                Fault.RECONNECT -> conn.reconnect()
                Fault.PAUSE_RESUME -> {
                    conn.pause()
                    delay(step.amount)
                    conn.resume()
                }
                Fault.GATE_FLIP -> gate.value = !gate.value
                Fault.SERVER_DROP -> blocking { last(server)?.drop() }
                Fault.SERVER_CLOSE -> blocking { last(server)?.close(1001, "going away", awaitReply = false) }
                Fault.SERVER_STOP_READING -> {
                    val c = last(server)
                    c?.setReading(false)
                    delay(step.amount)
                    c?.setReading(true)
                }
                Fault.PING_FLOOD -> blocking { last(server)?.let { c -> repeat(step.amount.toInt()) { c.sendPing() } } }
                Fault.PROTOCOL_ERROR -> blocking { last(server)?.sendFrame(0x3, ByteArray(0)) } // a reserved opcode
                Fault.SERVER_RESTART -> {
                    blocking { server.stop() }
                    delay(step.amount)
                    blocking { server.start() }
                }
                Fault.PROXY_CUT -> blocking { proxy?.cutAll() }
                Fault.PROXY_LATENCY -> proxy?.latency(JDuration.ofMillis(step.amount))
                Fault.PROXY_BLACKHOLE -> {
                    proxy?.blackhole()
                    delay(step.amount)
                    proxy?.heal()
                }
                Fault.SERVER_TEXT -> blocking { last(server)?.sendText("hello") }
            }
        }
        gate.value = true
    }

    /** Runs a blocking test-kit call; a connection that is already gone makes it fail, which is fine. */
    private suspend fun blocking(block: () -> Unit) {
        runInterruptible(Dispatchers.IO) {
            try {
                block()
            } catch (e: java.io.IOException) {
                // the connection is gone already
            } catch (e: IllegalStateException) {
                // likewise
            }
        }
    }

    /** Closes the client as the schedule says; returns how long the close took, in milliseconds. */
    private suspend fun end(conn: Connection, server: TestWebSocketServer): Long {
        val started = TimeSource.Monotonic.markNow()
        when (s.end) {
            Schedule.End.CLOSE_SUSPENDING -> conn.close(1000, "bye")
            Schedule.End.CLOSE_UNANSWERED -> {
                last(server)?.answerClose = false
                conn.close(1000, "bye")
            }
            Schedule.End.CLOSE_BLOCKING -> runInterruptible(Dispatchers.IO) { conn.close() }
            Schedule.End.CLOSE_FROM_HOOK -> {
                val c = last(server)
                if (conn.state.value !is ConnectionState.Connected || c == null || c.isClosed) return closeFromOutside(conn)
                blocking { c.sendText(CLOSE_FROM_HOOK) }
                // the link may die before the hook sees it: then close from outside
                val seen = withTimeoutOrNull(3.seconds) { hookSawClose.await() }
                if (seen != null) {
                    if (withTimeoutOrNull(30.seconds) { conn.awaitClosed() } == null) problem("close from a hook never ended")
                    return seen.elapsedNow().inWholeMilliseconds
                }
                return closeFromOutside(conn)
            }
        }
        return started.elapsedNow().inWholeMilliseconds
    }

    private suspend fun closeFromOutside(conn: Connection): Long {
        val started = TimeSource.Monotonic.markNow()
        conn.close(1000, "bye")
        return started.elapsedNow().inWholeMilliseconds
    }

    /** The text messages the server received, complete ones only, connection after connection. */
    private fun received(server: TestWebSocketServer): List<String> {
        val out = ArrayList<String>()
        for (c in server.connections.sortedBy { it.id }) {
            var partial: StringBuilder? = null
            for (f in c.received) {
                when (f.opcode) {
                    WireFrame.TEXT -> partial = StringBuilder(f.text)
                    WireFrame.CONTINUATION -> partial?.append(f.text)
                    else -> continue
                }
                if (f.fin) {
                    partial?.let { out += it.toString() }
                    partial = null
                }
            }
        }
        return out
    }

    /** What the schedules run so far did, for the harness's report (thread-safe). */
    class Tally {
        private val counts = java.util.concurrent.atomic.AtomicLongArray(7)

        fun add(ledger: DeliveryLedger, arrived: Int, connections: Int, faults: Int) {
            counts.incrementAndGet(0)
            counts.addAndGet(1, ledger.size.toLong())
            counts.addAndGet(2, ledger.count(DeliveryLedger.Outcome.WRITTEN).toLong())
            counts.addAndGet(3, ledger.count(DeliveryLedger.Outcome.FAILED).toLong())
            counts.addAndGet(4, arrived.toLong())
            counts.addAndGet(5, connections.toLong())
            counts.addAndGet(6, faults.toLong())
        }

        override fun toString(): String =
            "${counts[0]} schedules: ${counts[1]} messages (${counts[2]} reported written, ${counts[3]} failed, " +
                "${counts[4]} arrived), ${counts[5]} server connections, ${counts[6]} faults and commands"
    }

    companion object {
        val tally = Tally()
        /** `-Dtether.harness.log=true`: the client logs (info and errors), for a replay. */
        val LOG = System.getProperty("tether.harness.log") == "true"
        const val CLOSE_TIMEOUT_MS = 2_000L
        const val SLACK_MS = 2_000L
        const val CLOSE_FROM_HOOK = "close-from-hook"
        val TTL = 300.milliseconds
    }
}
