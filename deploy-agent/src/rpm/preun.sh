# Before this version is removed ($1: 0 on an erase, 1 when an upgrade replaces it). Only an erase
# stops the agent and disables it, so no dangling enablement link is left behind.
if [ "$1" -eq 0 ]; then
    if [ -d /run/systemd/system ]; then
        systemctl stop deploykit-agent.service || :
    fi
    if command -v systemctl >/dev/null 2>&1; then
        systemctl --no-reload disable deploykit-agent.service || :
    fi
fi
