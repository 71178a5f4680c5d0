#!/bin/sh
# %preun (el7+; $1 = 0 on erase, 1 on upgrade): stop and disable only on erase
# (el7's systemd 219 has no `disable --now`, hence two commands).
if [ "$1" -eq 0 ]; then
	systemctl --no-reload disable haproxy.service >/dev/null 2>&1 || :
	systemctl stop haproxy.service >/dev/null 2>&1 || :
fi
exit 0
