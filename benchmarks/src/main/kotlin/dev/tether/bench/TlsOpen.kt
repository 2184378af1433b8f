package dev.tether.bench

import dev.tether.Connection
import dev.tether.ConnectionState
import dev.tether.webSocketClient
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import java.io.File
import java.lang.management.ManagementFactory
import java.security.KeyStore
import java.security.cert.CertificateFactory
import javax.net.ssl.SSLContext
import javax.net.ssl.TrustManagerFactory
import kotlin.time.Duration.Companion.seconds

/**
 * Tether only: [n] wss:// connections opened at once against the server's TLS port (a certificate made for this run,
 * trusted through the application's own `SSLContext`, so its trust manager is application code), all held open:
 * the time until all are connected and the client's CPU per TLS handshake (upgrade included).
 */
fun tlsOpen(n: Int): Map<String, Any> = runBlocking {
    val certFile = File(System.getProperty("bench.tlsCert"))
    val port = System.getProperty("bench.tlsPort")
    val trust = KeyStore.getInstance(KeyStore.getDefaultType()).apply {
        load(null, null)
        setCertificateEntry("bench", certFile.inputStream().use { CertificateFactory.getInstance("X.509").generateCertificate(it) })
    }
    val context = SSLContext.getInstance("TLS").apply {
        init(null, TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm()).apply { init(trust) }.trustManagers, null)
    }
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    val client = webSocketClient("wss://127.0.0.1:$port/idle") {
        logInfo = false
        logErrors = false
        tls(context)
        connectTimeout = 60.seconds
    }
    val os = ManagementFactory.getOperatingSystemMXBean() as com.sun.management.OperatingSystemMXBean
    // warm-up: the JIT and the TLS code paths, on connections closed before the measured ones
    List(200) { client.connectIn(scope) }.also { w -> withTimeout(60.seconds) { w.forEach { it.awaitConnected() } } }.forEach { it.close() }
    val cpu0 = os.processCpuTime
    val t0 = System.nanoTime()
    val conns: List<Connection> = List(n) { client.connectIn(scope) }
    withTimeout(300.seconds) { while (conns.count { it.state.value is ConnectionState.Connected } < n) delay(20) }
    val seconds = (System.nanoTime() - t0) / 1e9
    val cpuMs = (os.processCpuTime - cpu0) / 1e6
    val result = mapOf("open" to n, "openSeconds" to seconds, "cpuMsPerHandshake" to cpuMs / n, "handshakesPerSecond" to n / seconds)
    conns.forEach { it.close() }
    scope.cancel()
    result
}
