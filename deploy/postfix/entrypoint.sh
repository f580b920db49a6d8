#!/bin/sh
# Configure Postfix as the MX for $INTAKE_DOMAIN, relaying to $RELAY_TO (the service's
# SMTP listener), with OpenDKIM then OpenDMARC as milters; then run all three.
set -eu
: "${MX_HOSTNAME:?}" "${INTAKE_DOMAIN:?}" "${RELAY_TO:?}"
sed -i "s/MX_HOSTNAME/${MX_HOSTNAME}/" /etc/opendkim.conf /etc/opendmarc.conf
postconf -e \
    "myhostname = ${MX_HOSTNAME}" \
    "mydestination =" \
    "relay_domains = ${INTAKE_DOMAIN}" \
    "transport_maps = inline:{ ${INTAKE_DOMAIN}=smtp:${RELAY_TO} }" \
    "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination" \
    "smtpd_milters = inet:127.0.0.1:8891, inet:127.0.0.1:8893" \
    "non_smtpd_milters = inet:127.0.0.1:8891, inet:127.0.0.1:8893" \
    "milter_default_action = accept" \
    "message_size_limit = 10485760" \
    "maillog_file = /dev/stdout"
# smtpd and smtp run chrooted in the queue folder, as Debian's master.cf ships them; Debian's
# own set-up copies this container's resolv.conf and hosts in, so RELAY_TO resolves by name.
/usr/lib/postfix/configure-instance.sh -
mkdir -p /run/opendkim /run/opendmarc
chown opendkim /run/opendkim; chown opendmarc /run/opendmarc
# The milters log only through syslog, and a container has no syslog daemon: busybox's
# takes their lines from /dev/log and writes them to stdout, beside Postfix's.
busybox syslogd -n -O - &
waited=0
while [ ! -S /dev/log ] && [ "$waited" -lt 50 ]; do sleep 0.1; waited=$((waited + 1)); done
opendkim -x /etc/opendkim.conf
opendmarc -c /etc/opendmarc.conf
exec postfix start-fg
