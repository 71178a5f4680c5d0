#!/bin/sh
# %post (el6; $1 = 1 on install, 2 on upgrade): register the init script with
# chkconfig. It is not switched on: `chkconfig haproxy on` once the config is ready.
/sbin/chkconfig --add haproxy
# rsyslog picks up /etc/rsyslog.d/49-haproxy.conf only when restarted.
/sbin/service rsyslog condrestart >/dev/null 2>&1 || :
exit 0
