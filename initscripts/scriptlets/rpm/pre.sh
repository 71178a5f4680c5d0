#!/bin/sh
# %pre (all el dists): create the haproxy system group and user once; an
# existing group or user is kept as it is, so installing twice changes nothing.
getent group haproxy >/dev/null || groupadd -r haproxy || exit 1
getent passwd haproxy >/dev/null ||
	useradd -r -g haproxy -d /var/lib/haproxy -s /sbin/nologin \
		-c "HAProxy load balancer" haproxy || exit 1
exit 0
