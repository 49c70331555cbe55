"""Baseline (c), the seed design: the FastAPI + SQLModel server this product replaced, rebuilt for the
benchmark (issue #15) as the seed documented it and as a seed project writes it: idiomatic FastAPI, an async
SQLModel session on PostgreSQL (SQLAlchemy's asyncio engine, asyncpg), httpx streaming from an
OpenAI-compatible model, a StreamingResponse of Server-Sent Events. One uvicorn worker on uvloop/httptools.

    POST /api/chat/stream?message=...[&conversation_id=...]
        creates the conversation when no id is given (else loads its history), saves the user's message,
        streams the model's reply as `data: <text>\\n\\n` per content delta, then `data: [DONE]\\n\\n`, and
        saves the assistant's reply. <text> is the delta JSON-encoded (a JSON string: newlines, quotes and
        backslashes escaped, so a delta never breaks the SSE framing nor reads as [DONE]).
    GET /healthz

Environment: DATABASE_URL (postgresql://… or postgresql+asyncpg://…), MODEL_URL (the model's base URL,
ending in /v1), MODEL_NAME, DATABASE_POOL_SIZE (20, as the bench runs this product's server).
Installed from Debian's packages: bench/systems/seed/install.sh. Run by the bench (bench/lib/systems.ts):

    python3 -m uvicorn app:app --loop uvloop --http httptools --port $PORT --log-level warning
"""

import json
import os
from datetime import datetime
from typing import AsyncIterator, Optional

import httpx
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

DATABASE_URL = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+asyncpg://", 1)
MODEL_URL = os.environ["MODEL_URL"].rstrip("/")
MODEL_NAME = os.environ.get("MODEL_NAME", "bench")


class Conversation(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    title: str
    created_at: datetime = Field(default_factory=datetime.utcnow)
    updated_at: datetime = Field(default_factory=datetime.utcnow)


class Message(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    role: str
    content: str
    created_at: datetime = Field(default_factory=datetime.utcnow)


engine = create_async_engine(
    DATABASE_URL,
    pool_size=int(os.environ.get("DATABASE_POOL_SIZE", "20")),
    max_overflow=0,
)
http: httpx.AsyncClient


app = FastAPI(title="chat (seed)")


@app.on_event("startup")
async def startup() -> None:
    global http
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    # No cap on connections to the model: every open reply streams on its own connection (httpx's default
    # of 100 would queue the 101st reply, then fail it after 5 s).
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(60.0, connect=5.0),
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=1_000),
    )


@app.on_event("shutdown")
async def shutdown() -> None:
    await http.aclose()
    await engine.dispose()


async def get_session() -> AsyncIterator[AsyncSession]:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session


@app.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}


@app.post("/api/chat/stream")
async def chat_stream(
    message: str,
    conversation_id: Optional[int] = None,
    session: AsyncSession = Depends(get_session),
) -> StreamingResponse:
    history: list[dict] = []
    if conversation_id is None:
        conversation = Conversation(title=message[:80])
        session.add(conversation)
        await session.flush()
    else:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise HTTPException(status_code=404, detail="conversation not found")
        result = await session.exec(
            select(Message)
            .where(Message.conversation_id == conversation.id)
            .order_by(Message.created_at, Message.id)
        )
        history = [{"role": m.role, "content": m.content} for m in result.all()]
        conversation.updated_at = datetime.utcnow()
        session.add(conversation)
    session.add(Message(conversation_id=conversation.id, role="user", content=message))
    await session.commit()
    history.append({"role": "user", "content": message})
    return StreamingResponse(
        relay(conversation.id, history),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Conversation-Id": str(conversation.id)},
    )


async def relay(conversation_id: int, history: list[dict]) -> AsyncIterator[str]:
    """The model's reply as SSE, saved once it has ended."""
    parts: list[str] = []
    body = {"model": MODEL_NAME, "messages": history, "stream": True}
    async with http.stream("POST", f"{MODEL_URL}/chat/completions", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            line = line.strip()  # httpx 0.23 (Debian 12) keeps the line's "\n"
            if not line.startswith("data: "):
                continue
            data = line[len("data: "):]
            if data == "[DONE]":
                break
            choices = json.loads(data).get("choices") or []
            text = choices[0].get("delta", {}).get("content") if choices else None
            if text:
                parts.append(text)
                yield f"data: {json.dumps(text)}\n\n"
    yield "data: [DONE]\n\n"
    async with AsyncSession(engine) as session:
        session.add(Message(conversation_id=conversation_id, role="assistant", content="".join(parts)))
        await session.commit()
