//! Address and port variables (`$HOME_NET`, `$HTTP_PORTS`...), with Suricata's defaults.

use std::collections::BTreeMap;

/// Variables a rule header may name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vars {
    /// Address groups, by name without `$`.
    pub addresses: BTreeMap<String, String>,
    /// Port groups, by name without `$`.
    pub ports: BTreeMap<String, String>,
}

impl Default for Vars {
    /// Suricata's default `suricata.yaml` groups.
    fn default() -> Self {
        let addresses = [
            ("HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]"),
            ("EXTERNAL_NET", "!$HOME_NET"),
            ("HTTP_SERVERS", "$HOME_NET"),
            ("SMTP_SERVERS", "$HOME_NET"),
            ("SQL_SERVERS", "$HOME_NET"),
            ("DNS_SERVERS", "$HOME_NET"),
            ("TELNET_SERVERS", "$HOME_NET"),
            ("AIM_SERVERS", "$EXTERNAL_NET"),
            ("DC_SERVERS", "$HOME_NET"),
            ("DNP3_SERVER", "$HOME_NET"),
            ("DNP3_CLIENT", "$HOME_NET"),
            ("MODBUS_CLIENT", "$HOME_NET"),
            ("MODBUS_SERVER", "$HOME_NET"),
            ("ENIP_CLIENT", "$HOME_NET"),
            ("ENIP_SERVER", "$HOME_NET"),
        ];
        let ports = [
            ("HTTP_PORTS", "80"),
            ("SHELLCODE_PORTS", "!80"),
            ("ORACLE_PORTS", "1521"),
            ("SSH_PORTS", "22"),
            ("DNP3_PORTS", "20000"),
            ("MODBUS_PORTS", "502"),
            ("FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"),
            ("FTP_PORTS", "21"),
            ("GENEVE_PORTS", "6081"),
            ("VXLAN_PORTS", "4789"),
            ("TEREDO_PORTS", "3544"),
            ("SIP_PORTS", "[5060,5061]"),
        ];
        Vars {
            addresses: addresses
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ports: ports
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
}

impl Vars {
    /// Sets an address group (name without `$`).
    pub fn set_address(&mut self, name: &str, value: &str) {
        self.addresses
            .insert(name.trim_start_matches('$').to_string(), value.to_string());
    }

    /// Sets a port group (name without `$`).
    pub fn set_port(&mut self, name: &str, value: &str) {
        self.ports
            .insert(name.trim_start_matches('$').to_string(), value.to_string());
    }
}
