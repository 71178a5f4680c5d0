#!/bin/sh
# %post (el7+; $1 = 1 on install, 2 on upgrade): what %systemd_post does, written
# out so it reads the same on el7, el8 and el9: apply the preset on first install
# (the unit is enabled only if the dist's presets say so).
if [ "$1" -eq 1 ]; then
	systemctl --no-reload preset haproxy.service >/dev/null 2>&1 || :
fi
# rsyslog picks up /etc/rsyslog.d/49-haproxy.conf only when restarted.
if [ -d /run/systemd/system ]; then
	systemctl reload-or-try-restart rsyslog.service >/dev/null 2>&1 || :
fi
exit 0
