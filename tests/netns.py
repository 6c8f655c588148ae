"""A participant's network inside the machine: a network namespace joined to the host by a
veth pair on a private test link, with an nftables firewall of our choosing.

Traffic only flows between the namespace and the host end of its veth; nothing here
reaches any other address.  Everything is removed again on ``close`` (deleting the
namespace deletes its veth end, and with it the host end).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path


def missing() -> str | None:
    """Why a namespace test cannot run here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "nft"):
        if not shutil.which(tool):
            return f"{tool} is not installed (apt-get install iproute2 nftables)"
    probe = f"cmpprobe{secrets.token_hex(3)}"
    result = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, timeout=10)
    if result.returncode != 0:
        return f"no network namespace support: {result.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=10)
    return None


def sh(*cmd: str, input: str | None = None) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=20, input=input)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {result.stderr.strip()}")
    return result.stdout


class IsolatedLink:
    """``host`` is the address on the host's end, ``inner`` the namespace's; a /30 between them."""

    def __init__(self) -> None:
        tag = secrets.token_hex(3)
        self.ns = f"cmp{tag}"
        self.host_if = f"cmph{tag}"
        self.inner_if = f"cmpn{tag}"
        # 10.213.N.0/30: a private test link used by nothing else on this machine.
        n = int(tag[:2], 16)
        self.host = f"10.213.{n}.1"
        self.inner = f"10.213.{n}.2"
        self._up = False

    def open(self) -> "IsolatedLink":
        sh("ip", "netns", "add", self.ns)
        self._up = True
        sh("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.inner_if)
        sh("ip", "link", "set", self.inner_if, "netns", self.ns)
        sh("ip", "addr", "add", f"{self.host}/30", "dev", self.host_if)
        sh("ip", "link", "set", self.host_if, "up")
        sh("ip", "-n", self.ns, "addr", "add", f"{self.inner}/30", "dev", self.inner_if)
        sh("ip", "-n", self.ns, "link", "set", "lo", "up")
        sh("ip", "-n", self.ns, "link", "set", self.inner_if, "up")
        return self

    def firewall(self, tcp_ports: list[int]) -> None:
        """Inside the namespace: every UDP packet in or out is dropped (counted); TCP leaves only
        for ``tcp_ports`` on the host end (the web server and the TURN relay)."""
        ports = ", ".join(str(p) for p in tcp_ports)
        rules = f"""
table inet companion_test {{
    chain output {{
        type filter hook output priority 0; policy accept;
        oifname "lo" accept
        meta l4proto udp counter name udp_out drop
        ip daddr {self.host} tcp dport {{ {ports} }} accept
        meta l4proto tcp counter name tcp_other drop
    }}
    chain input {{
        type filter hook input priority 0; policy accept;
        iifname "lo" accept
        meta l4proto udp counter name udp_in drop
    }}
    counter udp_out {{ }}
    counter udp_in {{ }}
    counter tcp_other {{ }}
}}
"""
        sh("ip", "netns", "exec", self.ns, "nft", "-f", "-", input=rules)

    def dropped_udp(self) -> int:
        """UDP packets the firewall dropped so far, both directions."""
        total = 0
        for name in ("udp_out", "udp_in"):
            out = sh("ip", "netns", "exec", self.ns, "nft", "list", "counter", "inet", "companion_test", name)
            for word, value in zip(out.split(), out.split()[1:]):
                if word == "packets":
                    total += int(value)
        return total

    def lose_udp(self, per_mille: int) -> None:
        """Inside the namespace: drop ``per_mille`` of every 1000 UDP packets at random, each way, as a
        lossy wifi or mobile link does.  nftables' random number (numgen) rather than tc netem: the
        kernels these tests run on do not all carry the netem qdisc (this one does not), and nftables
        is there for ``firewall`` anyway.  TCP (the page and its WebSocket) is left alone: TCP hides
        loss by resending, media over UDP sees it."""
        rules = f"""
table inet companion_loss {{
    chain output {{
        type filter hook output priority 0; policy accept;
        meta l4proto udp counter name udp_out_all
        meta l4proto udp numgen random mod 1000 < {per_mille} counter name udp_out_lost drop
    }}
    chain input {{
        type filter hook input priority 0; policy accept;
        meta l4proto udp counter name udp_in_all
        meta l4proto udp numgen random mod 1000 < {per_mille} counter name udp_in_lost drop
    }}
    counter udp_out_all {{ }}
    counter udp_out_lost {{ }}
    counter udp_in_all {{ }}
    counter udp_in_lost {{ }}
}}
"""
        sh("ip", "netns", "exec", self.ns, "nft", "-f", "-", input=rules)

    def udp_loss(self) -> dict[str, int]:
        """What ``lose_udp`` saw so far: UDP packets in and out of the namespace and those it dropped."""
        out = {}
        for name in ("udp_out_all", "udp_out_lost", "udp_in_all", "udp_in_lost"):
            words = sh("ip", "netns", "exec", self.ns, "nft", "list", "counter", "inet", "companion_loss", name).split()
            out[name] = next(int(v) for w, v in zip(words, words[1:]) if w == "packets")
        return out

    def link(self, up: bool) -> None:
        """Take the namespace's end of the link down or up, as a laptop changing network does."""
        sh("ip", "-n", self.ns, "link", "set", self.inner_if, "up" if up else "down")

    def wrapper(self, folder: Path, executable: str) -> Path:
        """A script that runs ``executable`` inside the namespace (for Playwright's executable_path)."""
        path = folder / f"in-{self.ns}"
        path.write_text(f'#!/bin/sh\nexec ip netns exec {self.ns} {executable} "$@"\n')
        path.chmod(0o755)
        return path

    def close(self) -> None:
        if not self._up:
            return
        self._up = False
        # Whatever still runs in the namespace (a browser a failed test left) goes with it.
        pids = subprocess.run(["ip", "netns", "pids", self.ns], capture_output=True, text=True, timeout=10).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), 9)
            except (ProcessLookupError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True, timeout=10)
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, timeout=10)

    def __enter__(self) -> "IsolatedLink":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()
