"""GPQA (Rein et al.) from the authors' password-protected `dataset.zip`, or its extracted CSVs.

Bespoke (declared in tasks/gpqa/gpqa.benchmark.yaml): the authors ship the CSVs only inside a zip
encrypted with the password their README publishes (so that the questions do not appear in plain
text on the web); the generic loader reads plain files. Under --data_dir, `gpqa/dataset.zip` (members
`dataset/gpqa_<subset>.csv`) is opened with that password and the one member a task needs is
extracted to a private temporary folder; without the zip, the extracted `gpqa/dataset/*.csv` are read.
Without --data_dir the gated Hub dataset is loaded (it needs a Hugging Face token with access).
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalsuite.data.loader import load_local, load_reshaped
from evalsuite.data.local import resolve_data_dir
from evalsuite.declarations import DataSource
from evalsuite.errors import BadInputError

if TYPE_CHECKING:
    import datasets

ZIP_FILE = "gpqa/dataset.zip"  # under --data_dir
ZIP_PASSWORD = b"deserted-untie-orchid"  # published in the README of github.com/idavidrein/gpqa
MAX_MEMBER_BYTES = 64 * 1024 * 1024  # the largest official CSV is a few MB; more is not the authors' zip


def load_gpqa(source: DataSource, data_dir: str | Path | None = None, **_task_kwargs: Any) -> "datasets.DatasetDict":
    """The task's GPQA subset: from dataset.zip or the extracted CSVs under `data_dir`, else the Hub."""
    root = resolve_data_dir(data_dir)
    if root is None or source.local is None or not (root / ZIP_FILE).is_file():
        try:
            return load_reshaped(source, data_dir, lambda _path, rows: rows)
        except BadInputError as err:
            if root is None or not str(err).startswith("missing data file"):
                raise
            raise BadInputError(f"{err}, or the authors' {ZIP_FILE}") from None
    with tempfile.TemporaryDirectory(prefix="evalsuite-gpqa-") as scratch:
        for files in source.local.splits.values():
            for relative in files:
                _extract(root / ZIP_FILE, relative, Path(scratch))
        try:
            return load_local(source.local, Path(scratch))
        except BadInputError as err:  # name the zip, not the scratch folder
            raise BadInputError(str(err).replace(scratch, str(root / ZIP_FILE))) from None


def _extract(archive: Path, relative: str, scratch: Path) -> None:
    """Extract the member for `relative` (gpqa/dataset/x.csv -> dataset/x.csv) to scratch/relative."""
    member = relative.split("/", 1)[1] if "/" in relative else relative
    try:
        with zipfile.ZipFile(archive) as bundle:
            try:
                info = bundle.getinfo(member)
            except KeyError:
                raise BadInputError(f"{archive} has no member {member}") from None
            if info.file_size > MAX_MEMBER_BYTES:
                raise BadInputError(f"{archive}: {member} is {info.file_size} bytes, more than an official GPQA CSV")
            target = scratch / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(info, pwd=ZIP_PASSWORD) as stream, target.open("wb") as out:
                shutil.copyfileobj(stream, out)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError) as err:
        raise BadInputError(f"cannot open {member} in {archive} with the published password ({err}); "
                            f"extract it to gpqa/{member} instead") from None
