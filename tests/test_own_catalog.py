"""Serving your own catalog: a data folder remembers the catalog it was built from, another one needs
--replace-catalog, `chatrec serve --catalog` and GRADIO_SERVER_PORT work, and `chatrec chat` streams its reply."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROOT, free_port, keeps_to_schema, load_app, write_jsonl
from test_widget_browser import INLINE, Host, browser_test, card_ids, send, wait_done

from chatrec import ConfigError, Engine, Settings
from chatrec.catalog.files import load_catalog
from chatrec.catalog.remembered import CatalogChoiceError, Source, read_record, record_path, write_record
from chatrec.catalog.resources import knowledge_dir
from chatrec.cli import main as cli
from chatrec.cli import show_turn
from chatrec.config import server_address
from chatrec.results import Recommendation, Turn

PRODUCTS = [
    {
        "id": "p-jacket",
        "title": "Stormline Shell Jacket",
        "kind": "product",
        "genres": ["outdoor"],
        "description": "A waterproof, breathable rain jacket for hiking and mountain trails.",
        "creators": ["Northpeak"],
        "tags": ["rain", "hiking", "waterproof"],
        "popularity": 40,
    },
    {
        "id": "p-espresso",
        "title": "Barista One Espresso Machine",
        "kind": "product",
        "genres": ["kitchen"],
        "description": "A compact espresso machine with a steam wand for milk foam.",
        "creators": ["Cremaworks"],
        "tags": ["coffee"],
        "popularity": 25,
    },
    {
        "id": "p-yoga",
        "title": "Grip Yoga Mat",
        "kind": "product",
        "genres": ["fitness"],
        "description": "A thick non-slip mat for yoga and stretching at home.",
        "tags": ["yoga"],
        "popularity": 30,
    },
    {
        "id": "p-headphones",
        "title": "Quietwave Headphones",
        "kind": "product",
        "genres": ["audio"],
        "description": "Wireless over-ear headphones with noise cancelling for flights and commutes.",
        "tags": ["music", "travel"],
        "popularity": 50,
    },
    {
        "id": "p-skillet",
        "title": "Ironclad Skillet",
        "kind": "product",
        "genres": ["kitchen"],
        "description": "A cast iron frying pan for searing steaks and baking cornbread.",
        "tags": ["cooking"],
    },
    {
        "id": "p-bike",
        "title": "Sprout Kids Bicycle",
        "kind": "product",
        "genres": ["kids", "outdoor"],
        "description": "A light bicycle with training wheels for children aged four to six.",
        "tags": ["cycling"],
    },
    {
        "id": "p-lamp",
        "title": "Lumen Desk Lamp",
        "kind": "product",
        "genres": ["home office"],
        "description": "An LED desk lamp with adjustable brightness and colour temperature for reading.",
        "tags": ["light"],
    },
    {
        "id": "p-shoes",
        "title": "Ridge Trail Running Shoes",
        "kind": "product",
        "genres": ["outdoor", "fitness"],
        "description": "Grippy trail running shoes for muddy forest paths.",
        "tags": ["running"],
        "popularity": 35,
    },
]
BOOKS = [
    {
        "id": "k-1",
        "title": "The Quiet Harbour",
        "kind": "book",
        "genres": ["drama"],
        "description": "A fishing town waits out a long winter storm.",
    },
    {
        "id": "k-2",
        "title": "Lanterns of Kyoto",
        "kind": "book",
        "genres": ["travel"],
        "description": "A walker's guide to the temples and tea houses of Kyoto.",
    },
    {
        "id": "k-3",
        "title": "Numbers at Play",
        "kind": "book",
        "genres": ["mathematics"],
        "description": "Puzzles that explain probability to curious teenagers.",
    },
]
JACKET = "I need a waterproof jacket for hiking in the rain"
PRODUCT_IDS = {r["id"] for r in PRODUCTS}


@pytest.fixture(autouse=True)
def no_catalog_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test says which catalog it asks for; none comes from the environment."""
    for name in ("CHATREC_CATALOG", "CHATREC_REPLACE_CATALOG", "CHATREC_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(products.jsonl, the data folder `chatrec ingest products.jsonl` built), as a site owner would make them."""
    folder = tmp_path_factory.mktemp("shop")
    catalog, data = write_jsonl(folder / "products.jsonl", PRODUCTS), folder / "data"
    assert cli(["ingest", str(catalog), "--data-dir", str(data), "--quiet"]) == 0
    return catalog, data


def copy_of(data: Path, tmp_path: Path) -> Path:
    """A copy of a data folder (closed), for a test that changes it."""
    target = tmp_path / "data-copy"
    shutil.copytree(data, target, ignore=shutil.ignore_patterns("*.lock"))
    return target


def test_the_data_folder_remembers_the_ingested_catalog(shop: tuple[Path, Path]) -> None:
    catalog, data = shop
    record = read_record(data)
    assert record is not None and Path(record.path) == catalog.resolve() and record.items == len(PRODUCTS)
    bundled = set(load_catalog(knowledge_dir()).items)
    with Engine.load(Settings(data_dir=data, generator="none")) as engine:  # no catalog setting: the remembered one
        assert set(engine.items) == PRODUCT_IDS and set(engine.store.stored_hashes()) == PRODUCT_IDS
        assert not bundled & set(engine.items) and engine.ingest_report.embedded == 0
        assert engine.settings.catalog == catalog.resolve()
        turn = engine.chat("shopper", JACKET)
    assert turn.recommendations and turn.recommendations[0].item_id == "p-jacket"
    assert {r.item_id for r in turn.recommendations} <= PRODUCT_IDS
    assert read_record(data) == record  # an unchanged catalog rewrites nothing


def test_another_catalog_needs_the_replace_flag(
    shop: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog, data = shop
    books = write_jsonl(tmp_path / "books.jsonl", BOOKS)
    before = record_path(data).read_bytes()
    capsys.readouterr()
    assert cli(["ingest", str(books), "--data-dir", str(data), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert str(catalog.resolve()) in err and str(books.resolve()) in err and "--replace-catalog" in err
    assert "Nothing was changed" in err
    with pytest.raises(CatalogChoiceError, match="--replace-catalog"):
        Engine.load(Settings(data_dir=data, catalog=books, generator="none"))
    with pytest.raises(SystemExit, match="replace-catalog"):  # `python app.py` / `chatrec serve` refuse it too
        load_app().main(["--catalog", str(books), "--data-dir", str(data), "--port", str(free_port())])
    assert record_path(data).read_bytes() == before
    with Engine.load(Settings(data_dir=data, generator="none")) as engine:  # the store is as it was
        assert set(engine.store.stored_hashes()) == PRODUCT_IDS and engine.ingest_report.embedded == 0

    replaced = copy_of(data, tmp_path)
    assert cli(["ingest", str(books), "--data-dir", str(replaced), "--replace-catalog", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "3 added" in out and "8 deleted" in out and f"replaced the catalog {catalog.resolve()}" in out
    with Engine.load(Settings(data_dir=replaced, generator="none")) as engine:
        assert set(engine.items) == set(engine.store.stored_hashes()) == {r["id"] for r in BOOKS}
    # back to the products through the environment variable
    monkeypatch.setenv("CHATREC_REPLACE_CATALOG", "1")
    with Engine.load(Settings(data_dir=replaced, catalog=catalog, generator="none")) as engine:
        assert set(engine.store.stored_hashes()) == PRODUCT_IDS
    monkeypatch.delenv("CHATREC_REPLACE_CATALOG")

    rebuilt = tmp_path / "rebuilt"  # --rebuild embeds all anew from the catalog named: it replaces, and says so
    shutil.copytree(data, rebuilt, ignore=shutil.ignore_patterns("*.lock"))
    assert cli(["ingest", str(books), "--data-dir", str(rebuilt), "--rebuild", "--quiet"]) == 0
    assert f"replaced the catalog {catalog.resolve()}" in capsys.readouterr().out


def test_ingest_replaces_the_bundled_demo_catalog_but_serving_asks_first(
    shop: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder first served with the bundled catalog (`python app.py`), then given the owner's own: `chatrec ingest`
    replaces the demo catalog and says so; serving another catalog on it still needs the flag. (The bundled
    catalog is recorded over a copy of the shop's store: embedding its 537 items would cost a minute.)"""
    books = write_jsonl(tmp_path / "books.jsonl", BOOKS)
    demo = copy_of(shop[1], tmp_path)
    write_record(demo, Source(knowledge_dir().resolve(), bundled=True), items=537)
    with pytest.raises(CatalogChoiceError, match="holds the bundled catalog"):
        Engine.load(Settings(data_dir=demo, catalog=books, generator="none"))
    capsys.readouterr()
    assert cli(["ingest", str(books), "--data-dir", str(demo), "--quiet"]) == 0
    assert "it replaced the bundled catalog (" in capsys.readouterr().out
    assert Path(read_record(demo).path) == books.resolve()  # type: ignore[union-attr]


def test_a_gone_catalog_is_named_and_a_moved_one_is_recognised(shop: tuple[Path, Path], tmp_path: Path) -> None:
    catalog, _ = shop
    moving, data = tmp_path / "old-place.jsonl", tmp_path / "data"
    shutil.copy(catalog, moving)
    assert cli(["ingest", str(moving), "--data-dir", str(data), "--quiet"]) == 0
    moving.unlink()
    with pytest.raises(CatalogChoiceError, match="no longer there") as err:
        Engine.load(Settings(data_dir=data, generator="none"))
    assert str(moving.resolve()) in str(err.value) and "--catalog" in str(err.value)
    with Engine.load(Settings(data_dir=data, catalog=catalog, generator="none")) as engine:  # the same bytes
        assert engine.ingest_report.embedded == 0 and set(engine.items) == PRODUCT_IDS
    assert Path(read_record(data).path) == catalog.resolve()  # type: ignore[union-attr]


def test_a_folder_from_before_the_record_keeps_its_items(shop: tuple[Path, Path], tmp_path: Path) -> None:
    catalog, data = shop
    old = copy_of(data, tmp_path)
    record_path(old).unlink()  # as an older chatrec left it
    with pytest.raises(CatalogChoiceError, match="did not record"):
        Engine.load(Settings(data_dir=old, generator="none"))  # the bundled catalog would delete every product
    with Engine.load(Settings(data_dir=old, catalog=catalog, generator="none")) as engine:
        assert set(engine.store.stored_hashes()) == PRODUCT_IDS and engine.ingest_report.embedded == 0
    assert read_record(old) is not None


def test_a_damaged_record_is_an_error_not_a_guess(tmp_path: Path) -> None:
    record_path(tmp_path).write_text("{not json", encoding="utf-8")
    with pytest.raises(CatalogChoiceError, match="cannot be read"):
        Engine.load(Settings(data_dir=tmp_path, generator="none"))
    record_path(tmp_path).write_text(json.dumps({"version": 99}), encoding="utf-8")
    with pytest.raises(CatalogChoiceError, match="version 99"):
        read_record(tmp_path)


def test_host_and_port_come_from_the_flag_then_gradio_variables_then_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "CHATREC_HOST", "CHATREC_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert server_address() == ("127.0.0.1", 7860)
    monkeypatch.setenv("CHATREC_PORT", "9001")  # the older name still works
    assert server_address() == ("127.0.0.1", 9001)
    monkeypatch.setenv("GRADIO_SERVER_PORT", "9002")
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    assert server_address() == ("0.0.0.0", 9002)
    assert server_address("localhost", 9003) == ("localhost", 9003)
    monkeypatch.setenv("GRADIO_SERVER_PORT", "http")
    with pytest.raises(ConfigError, match="GRADIO_SERVER_PORT"):
        server_address()
    with pytest.raises(ConfigError, match="--port"):
        server_address(port=70000)
    monkeypatch.setenv("CHATREC_REPLACE_CATALOG", "maybe")
    with pytest.raises(ConfigError, match="CHATREC_REPLACE_CATALOG"):
        Settings()


@pytest.fixture
def served(shop: tuple[Path, Path]) -> Iterator[str]:
    """`chatrec serve --catalog products.jsonl` on the shop's data folder, on GRADIO_SERVER_PORT; yields its URL."""
    catalog, data = shop
    port = free_port()
    env = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "CHATREC_GENERATOR": "none",
        "CHATREC_THREADS": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatrec.cli", "serve", "--catalog", str(catalog), "--data-dir", str(data)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for(url: str, proc: subprocess.Popen[str], timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}: {proc.stdout.read()[-3000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in {timeout_s} s")


def test_chatrec_serve_serves_the_catalog_on_gradio_server_port(served: str) -> None:
    """The web UI (through gradio_client) and the JSON API of `chatrec serve --catalog` both serve the products."""
    from gradio_client import Client

    assert httpx.get(served, timeout=10).status_code == 200
    client = Client(served, verbose=False, analytics_enabled=False, download_files=False)
    try:
        turn = client.predict(JACKET, api_name="/chat")
    finally:
        client.close()
    assert "error" not in turn, turn
    ids = [r["item_id"] for r in turn["recommendations"]]
    assert ids and ids[0] == "p-jacket" and set(ids) <= PRODUCT_IDS
    api = served + "api/v1"  # the JSON API of the same server
    token = httpx.post(api + "/sessions", json={}, timeout=10).json()["token"]
    answer = httpx.post(
        api + "/chat", json={"message": JACKET}, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    ids = [r["item_id"] for r in answer.json()["recommendations"]]
    assert ids and ids[0] == "p-jacket" and set(ids) <= PRODUCT_IDS
    assert httpx.get(api + "/health", timeout=10).json()["items"] == len(PRODUCTS)
    keeps_to_schema(api, examples=4)  # the schema-driven test of test_api.py, against this process
    history = httpx.get(api + "/history", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    assert len(history["turns"]) == 1, history
    other = httpx.post(api + "/sessions", json={}, timeout=10).json()["token"]
    assert httpx.get(api + "/history", headers={"Authorization": f"Bearer {other}"}, timeout=10).json() == {
        "turns": []
    }, "a second session sees nothing of the first"
    assert httpx.get(api + "/profile", headers={"Authorization": f"Bearer {token}x"}, timeout=10).status_code == 401


def test_terminal_chat_on_the_remembered_catalog_notes_the_template(shop: tuple[Path, Path]) -> None:
    _, data = shop
    env = {**os.environ, "CHATREC_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "chatrec.cli", "chat", "--data-dir", str(data), "--generator", "none", "--user", "t"],
        input=f"{JACKET}\n\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "picks: Stormline Shell Jacket [p-jacket]" in out
    assert "bot> " in out and "(a template reply: the generator is off)" in out


def test_the_terminal_prints_the_reply_as_it_is_written() -> None:
    rec = Recommendation("p-jacket", "Stormline Shell Jacket", 0.9, "you asked for rain gear")
    picks = Turn(reply="", recommendations=[rec], final=False)
    stream = [
        picks,
        Turn("Try the Stormline.", [rec], final=False, source="generator"),
        Turn("Try the Stormline. It keeps rain out.", [rec], final=False, source="generator"),
        Turn("Try the Stormline. It keeps rain out.", [rec], final=True, source="generator"),
    ]
    written: list[str] = []
    final = show_turn(iter(stream), written.append)
    assert final is stream[-1]
    assert written == [
        "     picks: Stormline Shell Jacket [p-jacket]\n",
        "bot> Try the Stormline.",
        " It keeps rain out.",
        "",
        "\n",
    ]  # each piece as it came; no template note
    written.clear()
    show_turn(
        iter([picks, Turn("Here are some picks.", [rec], final=True, source="template", busy=True)]), written.append
    )
    assert "".join(written).endswith(
        "bot> Here are some picks.\n     (a template reply: the generator is busy with other users)\n"
    )


@browser_test
def test_the_served_products_come_through_the_widget(served: str, browser: Any) -> None:
    """The iframe route (/embed) of `chatrec serve --catalog`, in Chromium: the jacket is the first card."""
    visit = Host(browser, served + "embed")
    send(visit.page, JACKET, scope=INLINE)
    wait_done(visit.page, replies=1, scope=INLINE)
    ids = card_ids(visit.page, scope=INLINE)
    assert ids and ids[0] == "p-jacket" and set(ids) <= PRODUCT_IDS, ids
    visit.close()
