# After this version is removed ($1: 0 on an erase, 1 when an upgrade replaced it): systemd forgets
# the removed unit file or reads the new one.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || :
fi
