#!/bin/sh
# %postun (el7+; $1 = 0 on erase, 1 on upgrade): reread units, then on upgrade
# reload a running service: in master-worker mode a reload re-executes the
# master from the new binary, so the upgrade drops no connection. A stopped
# service stays stopped.
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
	if [ "$1" -ge 1 ]; then
		systemctl reload-or-try-restart haproxy.service >/dev/null 2>&1 || :
	else
		systemctl reload-or-try-restart rsyslog.service >/dev/null 2>&1 || :
	fi
fi
exit 0
