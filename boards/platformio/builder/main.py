"""SCons build script of edgesdk's local PlatformIO platform (the QEMU stand-ins).

The toolchain is the system's arm-none-eabi-gcc (no registry package). Board manifests are
written by edgesdk from its board files: ``build.cpu``/``build.fpu``/``build.float_abi`` give the
machine flags and ``edgesdk.qemu_machine``/``edgesdk.qemu_cpu`` the emulator. The project's
``board_build.ldscript`` is edgesdk's rendered linker script. Target ``exec`` runs the ELF in QEMU
with semihosting; QEMU's exit status is the firmware's.
"""

import os

from SCons.Script import Default, DefaultEnvironment

env = DefaultEnvironment()
board = env.BoardConfig()

machine_flags = [
    "-mcpu=%s" % board.get("build.cpu"),
    "-mthumb",
    "-mfloat-abi=%s" % board.get("build.float_abi", "soft"),
]
if board.get("build.fpu", ""):
    machine_flags.append("-mfpu=%s" % board.get("build.fpu"))

env.Replace(
    AR="arm-none-eabi-gcc-ar",
    AS="arm-none-eabi-gcc",
    CC="arm-none-eabi-gcc",
    CXX="arm-none-eabi-g++",
    GDB="arm-none-eabi-gdb",
    OBJCOPY="arm-none-eabi-objcopy",
    RANLIB="arm-none-eabi-gcc-ranlib",
    SIZETOOL="arm-none-eabi-size",
    ARFLAGS=["rc"],
    PROGSUFFIX=".elf",
)

env.Append(
    ASFLAGS=machine_flags,
    CCFLAGS=machine_flags,
    LINKFLAGS=machine_flags
    + ["-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections"],
    LIBS=["m"],
)

ldscript = board.get("build.ldscript", "")
if ldscript:
    if not os.path.isabs(ldscript):
        ldscript = os.path.join(env.subst("$PROJECT_DIR"), ldscript)
    env.Replace(LDSCRIPT_PATH=ldscript)

program = env.BuildProgram()

qemu = [
    "qemu-system-arm",
    "-M", board.get("edgesdk.qemu_machine"),
    "-cpu", board.get("edgesdk.qemu_cpu"),
    "-icount", "shift=0",
    "-semihosting-config", "enable=on,target=native",
    "-nographic", "-monitor", "none", "-serial", "null",
    "-kernel", "$SOURCE",
]
env.AddPlatformTarget(
    "exec",
    program,
    env.VerboseAction(" ".join(qemu), "Running $SOURCE in QEMU %s" % board.get("edgesdk.qemu_machine")),
    "Run in QEMU",
)

Default([program])
