/* SPDX-License-Identifier: MIT */
/* tests/vm/nss-static.c - linked into berthd-static only, before libc.a. In libnl-3 the
 * functions nl_addr_info, nl_addr_resolve, nl_ip_proto2str and nl_str2ip_proto call these four
 * name-service lookups. They sit in objects that berthd needs (addr.o, utils.o), so a static link
 * takes glibc's getaddrinfo and getprotobyname in, and with them NSS, the DNS resolver, the nscd
 * client and IDNA: about 160 KB. berthd calls none of those libnl functions (and never resolves
 * a name), so these replace the lookups: a call fails with ENOSYS, never silently. Code that
 * takes glibc's getaddrinfo.o in for another symbol (freeaddrinfo) fails to link: getaddrinfo
 * is defined twice. */
#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <sys/socket.h>

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    (void)node;
    (void)service;
    (void)hints;
    *res = NULL;
    errno = ENOSYS;
    return EAI_SYSTEM;
}

int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen,
                char *serv, socklen_t servlen, int flags)
{
    (void)sa;
    (void)salen;
    (void)host;
    (void)hostlen;
    (void)serv;
    (void)servlen;
    (void)flags;
    errno = ENOSYS;
    return EAI_SYSTEM;
}

struct protoent *getprotobyname(const char *name)
{
    (void)name;
    errno = ENOSYS;
    return NULL;
}

struct protoent *getprotobynumber(int proto)
{
    (void)proto;
    errno = ENOSYS;
    return NULL;
}
