//! The hardware a persona runs on: CPU models common under cloud VMs and
//! the memory figures `free`, `/proc/meminfo` and `top` share.

/// A CPU model the persona can run on (a KVM guest's view of it).
#[derive(Debug)]
pub struct CpuModel {
    /// `vendor_id`.
    pub vendor: &'static str,
    /// `cpu family`.
    pub family: u32,
    /// `model`.
    pub model: u32,
    /// `model name`.
    pub name: &'static str,
    /// `stepping`.
    pub stepping: u32,
    /// `microcode`.
    pub microcode: &'static str,
    /// Nominal MHz.
    pub mhz: f64,
    /// `cache size` in KB.
    pub cache_kb: u32,
    /// `cpuid level`.
    pub cpuid_level: u32,
    /// `address sizes`.
    pub address_sizes: &'static str,
    /// `flags`.
    pub flags: &'static str,
    /// `bugs`.
    pub bugs: &'static str,
}

const INTEL_FLAGS_BDW: &str = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon rep_good nopl xtopology cpuid tsc_known_freq pni pclmulqdq vmx ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch cpuid_fault invpcid_single pti ssbd ibrs ibpb stibp tpr_shadow flexpriority ept vpid ept_ad fsgsbase tsc_adjust bmi1 hle avx2 smep bmi2 erms invpcid rtm rdseed adx smap xsaveopt arat umip md_clear arch_capabilities";
const INTEL_FLAGS_CLX: &str = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon rep_good nopl xtopology cpuid tsc_known_freq pni pclmulqdq vmx ssse3 fma cx16 pdcm pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch cpuid_fault invpcid_single ssbd ibrs ibpb stibp ibrs_enhanced tpr_shadow flexpriority ept vpid ept_ad fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid mpx avx512f avx512dq rdseed adx smap clflushopt clwb avx512cd avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves arat vnmi umip pku ospke avx512_vnni md_clear arch_capabilities";
const AMD_FLAGS_MILAN: &str = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm rep_good nopl cpuid extd_apicid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm cmp_legacy cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw topoext perfctr_core invpcid_single ssbd ibrs ibpb stibp vmmcall fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid rdseed adx smap clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 xsaves clzero xsaveerptr wbnoinvd arat umip pku ospke vaes vpclmulqdq rdpid fsrm arch_capabilities";

/// CPUs common under cloud and hosting VMs.
pub const CPU_MODELS: &[CpuModel] = &[
    CpuModel {
        vendor: "GenuineIntel",
        family: 6,
        model: 79,
        name: "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz",
        stepping: 1,
        microcode: "0xb000040",
        mhz: 2399.996,
        cache_kb: 35840,
        cpuid_level: 13,
        address_sizes: "46 bits physical, 48 bits virtual",
        flags: INTEL_FLAGS_BDW,
        bugs: "cpu_meltdown spectre_v1 spectre_v2 spec_store_bypass l1tf mds swapgs taa itlb_multihit mmio_stale_data",
    },
    CpuModel {
        vendor: "GenuineIntel",
        family: 6,
        model: 85,
        name: "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz",
        stepping: 7,
        microcode: "0x5003604",
        mhz: 2992.968,
        cache_kb: 36608,
        cpuid_level: 13,
        address_sizes: "46 bits physical, 48 bits virtual",
        flags: INTEL_FLAGS_CLX,
        bugs: "spectre_v1 spectre_v2 spec_store_bypass swapgs taa itlb_multihit mmio_stale_data retbleed eibrs_pbrsb gds bhi",
    },
    CpuModel {
        vendor: "AuthenticAMD",
        family: 25,
        model: 1,
        name: "AMD EPYC 7543 32-Core Processor",
        stepping: 1,
        microcode: "0xa0011d1",
        mhz: 2794.748,
        cache_kb: 512,
        cpuid_level: 16,
        address_sizes: "48 bits physical, 48 bits virtual",
        flags: AMD_FLAGS_MILAN,
        bugs: "sysret_ss_attrs spectre_v1 spectre_v2 spec_store_bypass srso",
    },
];

/// Memory figures in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Mem {
    /// MemTotal.
    pub total: u64,
    /// MemFree.
    pub free: u64,
    /// Buffers.
    pub buffers: u64,
    /// Cached.
    pub cached: u64,
    /// Shmem.
    pub shmem: u64,
    /// SReclaimable.
    pub sreclaimable: u64,
    /// SwapTotal.
    pub swap_total: u64,
}

impl Mem {
    /// MemAvailable as the kernel estimates it, near enough.
    pub fn available(&self) -> u64 {
        (self.free + self.cached + self.buffers + self.sreclaimable).min(self.total)
    }

    /// Used as `free` computes it.
    pub fn used(&self) -> u64 {
        self.total
            .saturating_sub(self.free + self.buffers + self.cached + self.sreclaimable)
    }
}
