#pragma once
// Text placed into HTML (email bodies, CRM rich-text notes): the five characters that could
// open markup or end an attribute are written as entities.

#include <string>
#include <string_view>

namespace relance::core {

// & < > " ' as &amp; &lt; &gt; &quot; &#39; (not &apos;: HTML 4 does not define it and some mail
// clients show it as is).
std::string escape_html(std::string_view text);

// Plain text as HTML: escaped, each line break (\n or \r\n) as <br>.
std::string html_from_text(std::string_view text);

}  // namespace relance::core
