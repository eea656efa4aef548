"""The engine's pool drops a connection the server closed, at checkout, without an error."""

from __future__ import annotations

from sqlalchemy import text

from bettercallsold.db.engine import make_engine


class TestDeadConnections:
    async def test_a_backend_ended_by_the_server_is_replaced_at_checkout(
        self, database_url: str
    ) -> None:
        engine = make_engine(database_url, pool_size=1, max_overflow=0)
        killer = make_engine(database_url, pool_size=1, max_overflow=0)
        try:
            async with engine.connect() as connection:
                first = await connection.scalar(text("SELECT pg_backend_pid()"))
            async with killer.connect() as connection:
                await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            for _ in range(50):  # the backend's exit reaches the socket shortly after
                async with killer.connect() as connection:
                    gone = await connection.scalar(
                        text("SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = :pid)"),
                        {"pid": first},
                    )
                if gone:
                    break
            async with engine.connect() as connection:
                second = await connection.scalar(text("SELECT pg_backend_pid()"))
            assert second != first
        finally:
            await engine.dispose()
            await killer.dispose()

    async def test_a_live_connection_is_reused(self, database_url: str) -> None:
        engine = make_engine(database_url, pool_size=1, max_overflow=0)
        try:
            async with engine.connect() as connection:
                first = await connection.scalar(text("SELECT pg_backend_pid()"))
            async with engine.connect() as connection:
                assert await connection.scalar(text("SELECT pg_backend_pid()")) == first
        finally:
            await engine.dispose()
