{{/* Egress rules of the NetworkPolicies (networkpolicy.yaml). */}}
{{- define "rathaus.egressRules" -}}
{{- $np := .Values.networkPolicy }}
{{- if $np.egress.dns }}
- to:
    - namespaceSelector: {}
      podSelector:
        matchLabels: {k8s-app: kube-dns}
  ports:
    - {port: 53, protocol: UDP}
    - {port: 53, protocol: TCP}
{{- end }}
{{- range $np.egress.postgres }}
- to:
    - {{ toYaml (omit . "ports") | nindent 6 | trim }}
  ports:
    {{- range .ports }}
    - {port: {{ . }}, protocol: TCP}
    {{- end }}
{{- end }}
{{- end -}}

{{- define "rathaus.egressCommon" -}}
{{- $np := .Values.networkPolicy }}
{{- range $np.egress.modelServers }}
- to:
    - {{ toYaml (omit . "ports") | nindent 6 | trim }}
  ports:
    {{- range .ports }}
    - {port: {{ . }}, protocol: TCP}
    {{- end }}
{{- end }}
{{- if $np.egress.publicHttps }}
- to:
    - ipBlock:
        cidr: 0.0.0.0/0
        except: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, 100.64.0.0/10]
  ports:
    - {port: 443, protocol: TCP}
    - {port: 80, protocol: TCP}
{{- end }}
{{- with $np.egress.extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}
