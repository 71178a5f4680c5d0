#!/bin/sh
# %postun (el6; $1 = 0 on erase, 1 on upgrade): on upgrade restart only a running
# service, so the new binary takes over; after an erase, let rsyslog drop the drop-in.
if [ "$1" -ge 1 ]; then
	/sbin/service haproxy condrestart >/dev/null 2>&1 || :
else
	/sbin/service rsyslog condrestart >/dev/null 2>&1 || :
fi
exit 0
