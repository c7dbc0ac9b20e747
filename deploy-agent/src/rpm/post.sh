# After this version is installed ($1: 1 on a fresh install, 2 on an upgrade). Nothing is started:
# the agent needs its controller and CA in /etc/deploykit/agent.conf first, then
# systemctl enable --now deploykit-agent. An upgrade leaves a running agent on its old jar until it
# is restarted, as the .deb does.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || :
fi
