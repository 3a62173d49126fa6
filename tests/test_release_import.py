"""`recall codes import-release`: the official RF2 release verifies provisional lists in one go.

The release folder is built here from codes already shipped in data/codelists/ (never invented):
the AF invitation concepts of the provisional list, under AFIBINVITE_COD's refset id.
"""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from recall.cli import main
from recall.resources import data_dir
from recall.services.codes import codes_report, import_cluster
from recall.services.errors import RecallError
from recall.services.release_import import import_release
from recall.store.db import Database
from recall.store.models import codelist_entry_t

AFIB_REFSET = "999012011000230100"  # AFIBINVITE_COD (codelists/SOURCES.md)
COPDRVW_REFSET = "999012691000230100"  # COPDRVW_COD
HEADER = "id\teffectiveTime\tactive\tmoduleId\trefsetId\treferencedComponentId"
DESC_HEADER = (
    "id\teffectiveTime\tactive\tmoduleId\tconceptId\tlanguageCode\ttypeId\tterm\tcaseSignificanceId"
)
MODULE = "0"  # module and type ids are not read


def shipped(name: str) -> dict[str, str]:
    with (data_dir() / "codelists" / name).open(encoding="utf-8") as fh:
        return {r["code"]: r["term"] for r in csv.DictReader(fh)}


def release(tmp_path: Path, extra_rows: list[str] | None = None) -> Path:
    folder = tmp_path / "uk_sct2pc" / "Snapshot"
    (folder / "Refset" / "Content").mkdir(parents=True)
    (folder / "Terminology").mkdir(parents=True)
    af = shipped("provisional/afibinvite_provisional.csv")
    copd = shipped("care/copdrvw_cod.csv")
    rows = [HEADER]
    for i, code in enumerate(af):
        # the last AF concept is in the refset but retired (active 0): not a member
        active = "0" if i == len(af) - 1 else "1"
        rows.append(f"{uuid.uuid4()}\t20251211\t{active}\t{MODULE}\t{AFIB_REFSET}\t{code}")
    rows += [f"{uuid.uuid4()}\t20251211\t1\t{MODULE}\t{COPDRVW_REFSET}\t{c}" for c in copd]
    rows += extra_rows or []
    (
        folder / "Refset" / "Content" / "der2_Refset_SimpleSnapshot_GB1000230_20251211.txt"
    ).write_text("\n".join(rows) + "\n", encoding="utf-8")
    desc = [DESC_HEADER]
    for code, term in {**af, **copd}.items():
        desc.append(
            f"{uuid.uuid4()}\t20251211\t1\t{MODULE}\t{code}\ten\t{MODULE}\t{term}\t{MODULE}"
        )
    (folder / "Terminology" / "sct2_Description_Snapshot-en_GB1000230_20251211.txt").write_text(
        "\n".join(desc) + "\n", encoding="utf-8"
    )
    return tmp_path / "uk_sct2pc"


def test_release_turns_a_provisional_condition_into_a_verified_one(
    db: Database, tmp_path: Path
) -> None:
    before = {c.key: c for c in codes_report(db).conditions}
    assert before["AF"].status == "provisional" and not before["AF"].ready
    result = import_release(db, release(tmp_path))
    assert "AF" in result.verified and "AF" in result.became_ready
    got = {f.cluster: f.codes for f in result.imported}
    af = shipped("provisional/afibinvite_provisional.csv")
    assert got == {"AFIBINVITE_COD": len(af) - 1, "COPDRVW_COD": 3}
    assert "HFINVITE_COD" in result.not_in_release
    after = {c.key: c for c in codes_report(db).conditions}
    assert after["AF"].ready and after["AF"].status == "ready"
    assert after["AF"].source == "imported"
    assert after["AF"].record_term == af["1110851000000100"]
    with db.read() as s:
        n = s.scalar(
            select(func.count())
            .select_from(codelist_entry_t)
            .where(codelist_entry_t.c.cluster == "AFIBINVITE_COD")
        )
    assert n == len(af) - 1


def test_malformed_release_is_one_line_and_changes_nothing(db: Database, tmp_path: Path) -> None:
    bad = f"{uuid.uuid4()}\t20251211\t2\t{MODULE}\t{AFIB_REFSET}\t1110851000000100"
    with pytest.raises(RecallError) as err:
        import_release(db, release(tmp_path, [bad]))
    text = str(err.value)
    assert "\n" not in text
    assert "der2_Refset_SimpleSnapshot_GB1000230_20251211.txt line" in text
    assert "column active" in text and "nothing was imported" in text
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(codelist_entry_t)) == 0
    assert {c.key: c for c in codes_report(db).conditions}["AF"].status == "provisional"


def test_single_rf2_refset_file_for_one_cluster(db: Database, tmp_path: Path) -> None:
    folder = release(tmp_path)
    path = next(folder.rglob("der2_Refset_Simple*.txt"))
    result = import_cluster(db, "AFIBINVITE_COD", path)
    assert result.role == "invite" and result.codes == 4
    assert {c.key: c for c in codes_report(db).conditions}["AF"].ready


def test_cli_import_release_and_codes_list(
    sqlite_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_db.url
    assert main(["codes", "--json", "--db", url]) == 0
    doc = json.loads(capsys.readouterr().out)
    conds = {c["key"]: c for c in doc["conditions"]}
    assert conds["HYP"]["care_clusters"] == ["BP_COD", "HOMEBP_COD"]
    assert conds["MH"]["care_status"] == "care_list_needed" and "MHP_COD" in conds["MH"]["care"]
    assert conds["DEPR"]["qof_status"] == "no_qof"
    assert "import-release" in doc["release_command"]
    assert {n["key"] for n in doc["new_invitations"]} >= {"OB", "LIP"}
    assert main(["codes", "--db", url]) == 0
    text = capsys.readouterr().out
    assert "recall codes import-release FOLDER" in text and "care list needed" in text
    assert main(["codes", "import-release", str(release(tmp_path)), "--db", url]) == 0
    assert "Can now be coded: AF" in capsys.readouterr().out
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "der2_Refset_SimpleSnapshot_X.txt").write_text("id,code\n", encoding="utf-8")
    assert main(["codes", "import-release", str(bad), "--db", url]) != 0
    err = capsys.readouterr().err
    assert "line 1" in err and "not an RF2 file" in err


MHPCADEC_REFSET = "999013451000230101"  # ruleset-clusters-2022.csv, "QOF Mental health"
MHPCAPU_REFSET = "999013491000230106"


def _mapping() -> dict[str, str]:
    with (data_dir() / "qof" / "ruleset-clusters-2022.csv").open(encoding="utf-8") as fh:
        return {r["cluster_id"]: r["pcd_refset_id"] for r in csv.DictReader(fh)}


def test_every_shipped_refset_id_is_the_published_mapping() -> None:
    from recall.services.catalogue import cluster_table

    mapping = _mapping()
    for name, src in cluster_table().items():
        # a refset id where the mapping names one, none (and a reason) where it does not
        assert src.refset == mapping.get(name, ""), name
        if not src.refset:
            assert src.no_refset, name
    assert cluster_table()["MHPCADEC_COD"].refset == MHPCADEC_REFSET


def test_release_refreshes_the_mental_health_pca_clusters(db: Database, tmp_path: Path) -> None:
    extra = [
        f"{uuid.uuid4()}\t20251211\t1\t{MODULE}\t{refset}\t{code}"
        for refset, name in (
            (MHPCADEC_REFSET, "mhpcadec_cod.csv"),
            (MHPCAPU_REFSET, "mhpcapu_cod.csv"),
        )
        for code in shipped(name)
    ]
    result = import_release(db, release(tmp_path, extra))
    got = {f.cluster: f.codes for f in result.imported}
    assert got["MHPCADEC_COD"] == 1 and got["MHPCAPU_COD"] == 1
    assert "MHPCADEC_COD" not in result.not_in_release


def test_codes_says_which_cluster_the_release_cannot_refresh(
    sqlite_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    conds = {c.key: c for c in codes_report(sqlite_db).conditions}
    assert [g["cluster"] for g in conds["HYP"].not_in_release] == ["HOMEBP_COD"]
    assert "no refset id" in conds["HYP"].not_in_release[0]["reason"]
    assert conds["MH"].not_in_release == []
    assert main(["codes", "--db", sqlite_db.url]) == 0
    text = capsys.readouterr().out
    assert "HOMEBP_COD cannot be refreshed from the release" in text
    assert "recall codes import HOMEBP_COD FILE" in text
