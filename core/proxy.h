/* SPDX-License-Identifier: MIT */
/* core/proxy.h - the published-port proxy (DESIGN.md §12): a userland TCP/UDP forwarder from a
 * host address to a container address, IPv4, run entirely on the daemon's libev loop. No thread,
 * no fork, no blocking call; every fd is non-blocking and close-on-exec. */
#pragma once

struct ev_loop;
struct err;
struct proxy;

enum proxy_proto { PROXY_TCP, PROXY_UDP };

/* Bind HOST_IP:HOST_PORT ("" or "0.0.0.0" = any address; port 0 = an ephemeral port) and forward
 * every TCP connection, or every UDP flow (one per client address), to CTR_IP:CTR_PORT.
 *
 * TCP: each accepted connection gets a non-blocking connect to the container; a refused or failed
 * connect closes the client. Data is queued at most PROXY_BUF_LEN bytes per direction (a full
 * queue stops reading the sending side), EOF is passed on as shutdown(SHUT_WR) once the queue
 * is flushed, and an error or reset on either side aborts both. At most PROXY_CONNS_MAX
 * connections at once: more are accepted and closed at once. Out of fds, accepting pauses for
 * PROXY_ACCEPT_PAUSE_MS.
 *
 * UDP: each client address gets its own connected socket to the container; replies go back to
 * that client from the host socket (from the address it sent to). A flow idle for
 * PROXY_UDP_IDLE seconds is closed. At most PROXY_UDP_FLOWS_MAX flows: a datagram from a new
 * client when all are in use evicts the least recently active flow. Datagrams that find a socket
 * buffer full are dropped, as UDP allows.
 *
 * A port in use fails with code EADDRINUSE and a message containing "address already in use"
 * ("bind 0.0.0.0:8080/tcp: address already in use"); other failures are EINVAL (bad address or
 * port) or the errno of the failing call. On failure nothing is left behind. Bounded syscalls
 * only: safe on the loop. The caller owns the result and frees it with proxy_close(). */
struct proxy *proxy_open(struct ev_loop *loop, enum proxy_proto proto, const char *host_ip,
                         unsigned host_port, const char *ctr_ip, unsigned ctr_port, struct err *e);

/* The bound host port (the one chosen by the kernel when HOST_PORT was 0). */
unsigned proxy_port(const struct proxy *p);

/* Close the listener and every connection and flow now, stop every watcher and free P. Safe at
 * any time, also from inside any libev callback (the proxy's own callbacks never call out, so
 * no caller up the stack still uses P). Connections are closed, not drained. NULL is ignored. */
void proxy_close(struct proxy *p);

/* Idle timeout of UDP flows in seconds (default PROXY_UDP_IDLE); applies to existing flows from
 * their next activity and to new flows. Ignored for TCP and for SECS <= 0. */
void proxy_set_udp_idle(struct proxy *p, double secs);

/* Counters for tests and stats: CONNS and FLOWS are open now; BYTES_IN counts payload bytes
 * from clients forwarded toward the container, BYTES_OUT bytes from the container forwarded to
 * clients, since proxy_open(). */
struct proxy_stats {
    unsigned conns;
    unsigned flows;
    unsigned long long bytes_in, bytes_out;
};
void proxy_get_stats(const struct proxy *p, struct proxy_stats *s);
