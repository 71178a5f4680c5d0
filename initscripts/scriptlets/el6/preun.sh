#!/bin/sh
# %preun (el6; $1 = 0 on erase, 1 on upgrade): stop and unregister only on erase;
# an upgrade keeps the service running and postun restarts it.
if [ "$1" -eq 0 ]; then
	/sbin/service haproxy stop >/dev/null 2>&1 || :
	/sbin/chkconfig --del haproxy
fi
exit 0
