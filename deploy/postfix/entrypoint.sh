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
    "transport_maps = inline:{ ${INTAKE_DOMAIN} = smtp:${RELAY_TO} }" \
    "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination" \
    "smtpd_milters = inet:127.0.0.1:8891, inet:127.0.0.1:8893" \
    "non_smtpd_milters = inet:127.0.0.1:8891, inet:127.0.0.1:8893" \
    "milter_default_action = accept" \
    "message_size_limit = 10485760" \
    "maillog_file = /dev/stdout"
mkdir -p /run/opendkim /run/opendmarc
chown opendkim /run/opendkim; chown opendmarc /run/opendmarc
opendkim -x /etc/opendkim.conf
opendmarc -c /etc/opendmarc.conf
exec postfix start-fg
