#!/bin/sh
# Installs what the seed design (bench/systems/seed/app.py) needs, from Debian's packages (no PyPI): FastAPI,
# uvicorn with uvloop and httptools, SQLModel on SQLAlchemy's asyncio engine with asyncpg, and httpx.
# Runs apt-get only when a module is missing from Debian's /usr/bin/python3. Needs root (or sudo).
set -eu
PY=/usr/bin/python3
if [ -x "$PY" ] && "$PY" -c 'import fastapi, uvicorn, sqlmodel, asyncpg, httpx, uvloop, httptools' 2>/dev/null; then
  echo "seed design: Debian's Python packages are installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
$SUDO apt-get update
$SUDO apt-get install -y python3 python3-fastapi python3-uvicorn python3-sqlmodel python3-asyncpg python3-httpx
# The seed ran uvicorn on uvloop with httptools; without them the bench falls back to uvicorn's defaults.
$SUDO apt-get install -y python3-uvloop python3-httptools || echo "uvloop/httptools not installed: uvicorn will use asyncio and h11"
"$PY" -c 'import fastapi, uvicorn, sqlmodel, asyncpg, httpx'
echo "seed design: installed"
