"""Put the example together: `edgesdk build` the digits model for stm32f746, then take what a user
takes from the generated project (the runtime library, model.c/model.h, the linker scripts and the
local QEMU platform) into a PlatformIO project whose main() is the user's own (src/app.c).

    python examples/platformio-app/make_project.py OUT_DIR
    cd OUT_DIR/app && pio run -t exec          # build and run it in QEMU (edgesdk platformio-home first)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL = HERE.parent / "digits" / "model" / "digits_cnn.tflite"


def make_project(out_dir: Path) -> Path:
    generated = out_dir / "generated"
    subprocess.run(
        [sys.executable, "-m", "edgesdk", "build", str(MODEL), "--board", "stm32f746", "-o", str(generated),
         "--trainable", "last:2", "--lr", "0.05", "--steps", "1", "--force"],
        check=True, capture_output=True, text=True,
    )
    app = out_dir / "app"
    if app.exists():
        shutil.rmtree(app)
    (app / "src").mkdir(parents=True)
    shutil.copyfile(HERE / "platformio.ini", app / "platformio.ini")
    shutil.copyfile(HERE / "src" / "app.c", app / "src" / "app.c")
    for name in ("model.c", "model.h"):
        shutil.copyfile(generated / "src" / name, app / "src" / name)
    shutil.copytree(generated / "lib", app / "lib")
    shutil.copytree(generated / "edgesdk", app / "edgesdk")
    return app


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(make_project(Path(sys.argv[1]).resolve()))
