#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The UMEM placement tests on a machine with several NUMA nodes: boot
# Debian's kernel under QEMU (TCG: nested KVM is not dependable) with
# four nodes and an initramfs whose /init runs test_numa, then report each
# of its results. make check-numa builds the static binaries and runs this.
#
#   node 0: CPU 0, 512 MiB   node 2: CPU 2, no memory
#   node 1: CPU 1, 256 MiB   node 3: no CPU, 256 MiB, and the NIC (e1000e
#                            behind a PCIe expander bus on node 3)
# Linux numbers nodes in the order the ACPI SRAT names them, CPUs first:
# QEMU's node numbers only match with the CPU-less node last.
source "$(dirname "$0")/../lib.sh"

NUMA_BUILD=$T_BUILD/numa
# Boot plus tests take a few tens of seconds under TCG.
NUMA_TIMEOUT=${NUMA_TIMEOUT:-300}

# What the build makes: missing, a failure.
for f in "$NUMA_BUILD/init" "$NUMA_BUILD/test_numa"; do
	if [[ ! -f $f ]]; then
		echo "missing $f (run 'make check-numa')"
		t_fail "VM files present"
		t_done
	fi
done
# What the VM needs from this machine, not from the build: without it the
# tests cannot run here, which is a skip, not a failure.
kernel=$(ls -v /boot/vmlinuz-* 2>/dev/null | tail -n 1)
if [[ -z $kernel ]]; then
	t_skip "the NUMA VM: no kernel image in /boot (install linux-image-amd64: make deps)"
	t_done
fi
if [[ ! -r $kernel ]]; then
	t_skip "the NUMA VM: $kernel is not readable by uid $(id -u) (Debian keeps it root's: run as root)"
	t_done
fi
kver=${kernel#/boot/vmlinuz-}
ko=/lib/modules/$kver/kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko
if [[ ! -f $ko ]]; then
	t_skip "the NUMA VM: no e1000e module for $kernel ($ko is missing)"
	t_done
fi
if ! command -v qemu-system-x86_64 >/dev/null; then
	t_skip "the NUMA VM: qemu-system-x86_64 is missing (install qemu-system-x86: make deps)"
	t_done
fi

root=$T_TMP/root
mkdir -p "$root"
cp "$NUMA_BUILD/init" "$NUMA_BUILD/test_numa" "$ko" "$root/"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$T_TMP/initrd.gz"

log=$T_TMP/console.log
echo "booting $kernel, up to ${NUMA_TIMEOUT}s"
timeout "$NUMA_TIMEOUT" qemu-system-x86_64 \
	-machine q35,accel=tcg -m 1G -smp 3 \
	-object memory-backend-ram,id=m0,size=512M \
	-object memory-backend-ram,id=m1,size=256M \
	-object memory-backend-ram,id=m3,size=256M \
	-numa node,nodeid=0,cpus=0,memdev=m0 \
	-numa node,nodeid=1,cpus=1,memdev=m1 \
	-numa node,nodeid=2,cpus=2 \
	-numa node,nodeid=3,memdev=m3 \
	-device pxb-pcie,id=pxb1,bus_nr=128,numa_node=3,bus=pcie.0 \
	-device pcie-root-port,id=rp1,bus=pxb1,chassis=1 \
	-device e1000e,bus=rp1,netdev=n1 -netdev user,id=n1,restrict=on \
	-kernel "$kernel" -initrd "$T_TMP/initrd.gz" \
	-append "console=ttyS0 panic=-1 quiet loglevel=1" \
	-nographic -no-reboot -nodefaults -serial "file:$log" </dev/null
rc=$?
tr -d '\r' <"$log" >"$log.txt"
grep -E '^(ok|FAIL|skip) - |^  |^umem: |^numa-vm: |^[0-9]+ passed' "$log.txt"

if ((rc == 124)); then
	t_fail "VM finished within ${NUMA_TIMEOUT}s"
elif ((rc != 0)); then
	t_fail "qemu exited $rc"
fi
# a kernel message may share a line with a result: match anywhere (a
# skip's reason runs to the end of its line)
while read -r status _ name; do
	case $status in
	ok) t_ok "vm: $name" ;;
	skip) t_skip "vm: $name" ;;
	*) t_fail "vm: $name" ;;
	esac
done < <(grep -oE '(ok|FAIL) - [a-z0-9_]+$|skip - [a-z0-9_]+: .*$' "$log.txt")
# "N passed, N failed" or "N passed, N failed, N skipped"
vm_total=$(grep -oE '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?' \
	"$log.txt" | awk '{ print $1 + $3 + $5 }')
if [[ -n $vm_total ]] && ((vm_total == T_PASSED + T_FAILED + T_SKIPPED)); then
	t_ok "test_numa ran to its end in the VM, every result read"
else
	tail -n 30 "$log.txt"
	t_fail "test_numa ran to its end in the VM, every result read"
fi
t_done
