"""Running the app under uvicorn: one process, or a supervisor of ``workers`` processes.

With several workers uvicorn binds the listening socket itself, and the connections it
accepts then lack TCP_NODELAY (asyncio sets it only on sockets it made): every keep-alive
answer, written as headers then body, waits out the client's delayed ACK (some 40 ms).
The listening socket here gets TCP_NODELAY, which Linux passes on to accepted connections.
"""

from __future__ import annotations

import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

APP = "redline.serve.app:app_from_environment"


class _Config(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        """The listening socket, with TCP_NODELAY for the connections it accepts."""
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


def run(host: str, port: int, *, workers: int, forwarded_allow_ips: str, root_path: str) -> None:
    """Serve :data:`APP` until interrupted (the app reads its settings from the
    environment, see :func:`redline.serve.app.app_from_environment`)."""
    config = _Config(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        root_path=root_path,
        server_header=False,
        access_log=False,  # request URLs carry the tokens that unsubscribe their subscriber
        log_level="warning",
    )
    try:
        if workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            uvicorn.Server(config).run()
    except KeyboardInterrupt:
        pass
