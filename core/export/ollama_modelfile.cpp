// Modelfile text. The TEMPLATEs are Go templates over Ollama's .System, .Messages and .Prompt,
// written to render what the Jinja originals render for a system + user turn.
#include "core/export/ollama_modelfile.h"

#include "core/data/chat_template.h"

namespace peft::gguf {

namespace {

std::string quoteTriple(const std::string& s) { return "\"\"\"" + s + "\"\"\""; }

std::string goTemplate(data::TemplateKind k) {
    switch (k) {
        case data::TemplateKind::ChatMl:
            return "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
                   "<|im_start|>assistant\n";
        case data::TemplateKind::Llama3:
            return "<|begin_of_text|>{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n"
                   "{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n";
        case data::TemplateKind::Zephyr:
            return "{{- range .Messages }}<|{{ .Role }}|>\n{{ .Content }}</s>\n{{ end }}<|assistant|>\n";
        case data::TemplateKind::Llama2:
            return "{{- range $i, $m := .Messages }}{{- if eq $m.Role \"user\" }}<s>[INST] {{ $m.Content }} [/INST]"
                   "{{- else if eq $m.Role \"assistant\" }} {{ $m.Content }} </s>{{- end }}{{- end }}";
        default: return {};
    }
}

}  // namespace

std::string modelfileText(const ModelfileSpec& spec) {
    std::string s = "# Ollama Modelfile written by PEFT Studio. Create the model with:\n#   ollama create NAME -f Modelfile\n";
    s += "FROM " + spec.from + "\n";
    if (!spec.adapter.empty()) s += "ADAPTER " + spec.adapter + "\n";
    if (!spec.chatTemplate.empty()) {
        auto kind = data::recogniseChatTemplate(spec.chatTemplate);
        std::string t = kind ? goTemplate(*kind) : std::string();
        if (!t.empty()) s += "TEMPLATE " + quoteTriple(t) + "\n";
        else s += "# The chat template is not one of ChatML, Llama 3, Llama 2 or Zephyr; Ollama uses the one in the GGUF.\n";
    }
    for (const auto& stop : spec.stops) s += "PARAMETER stop \"" + stop + "\"\n";
    return s;
}

}  // namespace peft::gguf
